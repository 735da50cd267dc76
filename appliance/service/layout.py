"""Where the service keeps things: the one description of the state folder's layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..common.atomic import write_atomic
from ..pipeline.parts import SplitPlan


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

    def preview(self, job_id: int) -> Path:
        """The live preview of a running job (the frame being analysed, its faces boxed)."""
        return self.previews / f"job-{job_id}.jpg"

    @property
    def parts(self) -> Path:
        """Work folders of split recordings: the plan and each part's tracks, until the merge publishes."""
        return self.root / "parts"

    def work(self, job_id: int, sha256: str) -> Path:
        return self.parts / f"{job_id}-{sha256[:16]}"

    def create(self) -> StateLayout:
        for folder in (self.processing, self.done, self.failed, self.previews, self.parts):
            folder.mkdir(parents=True, exist_ok=True)
        return self


PLAN_FILE = "plan.json"


def write_plan(work: Path, plan: SplitPlan) -> None:
    """The split plan into the recording's work folder (atomically: a retried recording rewrites it)."""
    work.mkdir(parents=True, exist_ok=True)
    write_atomic(work / PLAN_FILE, plan.to_json())


def read_plan(work: Path) -> SplitPlan:
    try:
        return SplitPlan.from_json((work / PLAN_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuntimeError(f"the split plan {work / PLAN_FILE} is missing") from None
