"""Where the service keeps things: the one description of the state folder's layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StateLayout:
    """``state/``: the job database, footage by stage, the page's session key, live previews."""

    root: Path

    @property
    def processing(self) -> Path:
        """Footage taken from the inbox, queued or being processed."""
        return self.root / "processing"

    @property
    def done(self) -> Path:
        """Footage processed (or a duplicate of footage processed): kept unless retention says otherwise."""
        return self.root / "done"

    @property
    def failed(self) -> Path:
        """Footage that could not be processed, each with ``<name>.error.txt`` saying why."""
        return self.root / "failed"

    @property
    def database(self) -> Path:
        return self.root / "jobs.sqlite"

    @property
    def people_database(self) -> Path:
        """The people index: face embeddings across recordings (biometric data)."""
        return self.root / "people.sqlite"

    @property
    def secret_key(self) -> Path:
        return self.root / "secret.key"

    @property
    def previews(self) -> Path:
        return self.root / "preview"

    def preview(self, worker_id: int) -> Path:
        return self.previews / f"worker-{worker_id}.jpg"

    def create(self) -> StateLayout:
        for folder in (self.processing, self.done, self.failed, self.previews):
            folder.mkdir(parents=True, exist_ok=True)
        return self
