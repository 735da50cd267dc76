"""Tracks of one person grouped: a person who leaves and comes back, or is cut by a shot change, is
several tracks; their face embeddings say they are one person.

Each track is embedded from its best few shots (their embeddings averaged, so one blurred frame
does not decide); tracks are grouped by average linkage at the people threshold, and two tracks
seen in the same frame are never one person. A track with no usable shot stays a person of its own.
"""

from __future__ import annotations

import numpy as np

from ..people.cluster import average_linkage
from ..people.embed import FaceEmbedder, mean_embedding
from ..settings import PeopleSettings
from .track import Track


def embed_tracks(tracks: list[Track], embedder: FaceEmbedder) -> None:
    """Set each track's embedding from its kept shots (left None without any)."""
    for track in tracks:
        if track.shots:
            track.embedding = mean_embedding([embedder.embed(aligned) for _, aligned in track.shots])


def group_tracks(tracks: list[Track], settings: PeopleSettings) -> list[list[Track]]:
    """The people among ``tracks`` (each a list of its tracks), in order of first appearance."""
    units = [t for t in tracks if t.embedding is not None]
    labels: dict[int, int] = {}
    if units:
        cannot = [
            (i, j) for i in range(len(units)) for j in range(i + 1, len(units)) if units[i].frames & units[j].frames
        ]
        found = average_linkage(np.stack([t.embedding for t in units]), settings.threshold, cannot)  # type: ignore[misc]
        labels = {t.id: label for t, label in zip(units, found, strict=True)}
    groups: dict[object, list[Track]] = {}
    for track in tracks:
        key: object = labels.get(track.id, ("alone", track.id))
        groups.setdefault(key, []).append(track)
    return sorted(groups.values(), key=lambda group: min((t.first.time_s, t.id) for t in group))
