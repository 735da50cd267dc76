"""A recording's people into the index, from its published result (manifest and embeddings)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..output.embeddings import read_embeddings
from ..output.manifest import Manifest, read_manifest
from .index import PeopleIndex
from .store import NewTrack, Seen


def tracks_of(folder: Path, manifest: Manifest) -> list[NewTrack]:
    """The result's tracks that have an embedding, to be indexed (crops relative to the outbox)."""
    embeddings = read_embeddings(folder)
    return [
        NewTrack(
            track=t.id,
            local_person=t.person,
            first_s=t.first_s,
            last_s=t.last_s,
            time_s=t.best.time_s,
            crop=f"{folder.name}/{t.best.file}",
            quality=t.best.quality.score,
            embedding=embeddings[t.id],
        )
        for t in manifest.tracks
        if t.id in embeddings
    ]


def index_result(index: PeopleIndex, folder: Path, job: int | None = None) -> dict[int, Seen]:
    """Add a published result's people to the index (once); the recording's people -> who they are here."""
    manifest = read_manifest(folder)
    if manifest is None:
        return {}
    started = manifest.source.recorded_at
    recorded_at = datetime.fromisoformat(started).timestamp() if started else None
    return index.add_recording(folder.name, manifest.source.path, tracks_of(folder, manifest), job, recorded_at)
