"""Tracks of one person grouped: a person who leaves and comes back, or is cut by a shot change, is
several tracks; their face embeddings say they are one person.

Each track is embedded from its best few shots (their embeddings averaged, so one blurred frame
does not decide); tracks are grouped by average linkage at the people threshold, and two tracks
seen in the same frame are never one person. A track with no usable shot stays a person of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ..people.cluster import average_linkage
from ..people.embed import FaceEmbedder, mean_embedding
from ..settings import PeopleSettings
from .track import Track

# Finished tracks are embedded here while the rest of the footage is analysed (OpenCV releases the GIL)
_AHEAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-ahead")


def embed_tracks(tracks: list[Track], embedder: FaceEmbedder) -> None:
    """Set each track's embedding from its kept shots (left None without any; one set already is kept)."""
    for track in tracks:
        if track.shots and track.embedding is None:
            embed_track(track, embedder)


def embed_track(track: Track, embedder: FaceEmbedder) -> None:
    track.embedding = mean_embedding([embedder.embed(aligned) for _, aligned in track.shots])


class EmbeddingAhead:
    """Tracks embedded as soon as they end, in a helper thread, while detection goes on.

    A busy minute ends dozens of tracks; embedding their shots at the end (~26 ms each) made the
    people step a tenth of the run, all of it after the last frame. A track that has ended takes no
    more shots, so its embedding is the one the end would compute; tracks still open at the end (and
    any not offered) are embedded there by :func:`embed_tracks`.
    """

    def __init__(self, embedder: FaceEmbedder, min_detections: int) -> None:
        self.embedder = embedder
        self.min_detections = min_detections
        self._pending: list[Future[None]] = []

    def offer(self, ended: Iterable[Track]) -> None:
        """Start embedding each ended track that will be kept (enough detections) and has shots."""
        for track in ended:
            if track.shots and track.detections >= self.min_detections and track.embedding is None:
                self._pending.append(_AHEAD.submit(embed_track, track, self.embedder))

    def wait(self) -> None:
        """Every offered track embedded (an embedding's error is raised here, in the pipeline's thread)."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()


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
