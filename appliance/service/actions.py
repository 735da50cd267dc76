"""What a person may ask of the service from the page or the API, done the service's way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .footage import move_no_clobber, reason_path
from .jobs import JobState
from .layout import StateLayout
from .store import JobStore


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    status: int  # the HTTP status that fits: 200, 404 no such job, 409 not possible now
    message: str


def retry_failed(store: JobStore, layout: StateLayout, job_id: int) -> ActionResult:
    """Queue a failed job again: its footage goes back to ``processing/``, its reason file is set aside."""
    job = store.get(job_id)
    if job is None:
        return ActionResult(False, 404, f"no job {job_id}")
    if job.state is not JobState.FAILED:
        return ActionResult(False, 409, f"job {job_id} is {job.state}, not failed")
    footage = Path(job.path)
    if not footage.exists():
        return ActionResult(False, 409, "the footage is no longer there")
    try:
        moved = move_no_clobber(footage, layout.processing)
    except OSError as exc:
        return ActionResult(False, 409, f"the footage cannot be moved: {exc.strerror or exc}")
    reason = reason_path(footage)
    if reason.exists():
        reason.rename(reason.with_name(f".{reason.name}.retried"))
    store.retry(job_id, str(moved))
    store.tell_operator("retry", f"job {job_id} ({job.name}) queued again")
    return ActionResult(True, 200, f"job {job_id} queued again")
