"""The job state machine, written once: every move a job can make, from which states, and what it changes.

The stores (:mod:`.sqlite`, :mod:`.redis`) load a job, apply one of these moves to it and persist
what it returns, atomically; none of them decides a transition of its own. A move returns False
when the job is not in a state it may be moved from (the store then leaves it as it is), so a late
or repeated call (a progress report after the job finished, a part told done twice) changes nothing.

::

    received ──queue──> queued ──take──> processing ──finish──> done
                          ^                 │  │ └───split──> split ──(parts done, merged)──> done
                          └──requeue────────┘  └──fail──> failed ──retry──> queued
    received/queued ──mark_duplicate──> duplicate

``finish``, ``fail`` and ``requeue`` are allowed from any state: recovery may find a result
published before a crash (done from split or queued), and a part's failure fails its recording
wherever it is. ``take`` counts an attempt and gives the job a lease: only the run holding it may
finish or fail it (:func:`check_lease`); :data:`~appliance.service.jobs.MAX_ATTEMPTS` caps the
attempts (:func:`attempts_left`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..jobs import MAX_ATTEMPTS, Job, JobKind, JobState, LeaseLost

ANY_STATE = frozenset(JobState)
SETTLED = frozenset({JobState.DONE, JobState.FAILED})
# who may move a job from which state (the moves below check it; the contract tests read it)
MAY_MOVE_FROM: dict[str, frozenset[JobState]] = {
    "queue": frozenset({JobState.RECEIVED}),
    "take": frozenset({JobState.QUEUED}),
    "report_progress": frozenset({JobState.PROCESSING}),
    "finish": ANY_STATE,
    "fail": ANY_STATE,
    "requeue": ANY_STATE,
    "retry": frozenset({JobState.FAILED}),
    "mark_duplicate": ANY_STATE,
    "split": ANY_STATE,
    "part_done": frozenset({JobState.PROCESSING}),
    "cancel": ANY_STATE - SETTLED,
    "roll_up": frozenset({JobState.SPLIT}),
}


def _may(move: str, job: Job) -> bool:
    return job.state in MAY_MOVE_FROM[move]


def check_lease(job: Job, lease: str | None) -> None:
    """Raise :class:`LeaseLost` unless the run holding ``lease`` still holds the job (None: no check)."""
    if lease is not None and job.lease != lease:
        raise LeaseLost(f"job {job.id} is no longer held by this run")


def waiting(job: Job, now: float) -> bool:
    """Put back to wait (a full disk) and not due yet: not to be taken."""
    return job.retry_at is not None and job.retry_at > now


def attempts_left(job: Job) -> bool:
    """A job cut short may run again until it has had :data:`MAX_ATTEMPTS`."""
    return job.attempts < MAX_ATTEMPTS


def queue(job: Job, path: str) -> bool:
    """A received job's file is in processing/ now: it may be taken."""
    if not _may("queue", job):
        return False
    job.state, job.path = JobState.QUEUED, path
    return True


def take(job: Job, worker: int, host: str | None, lease: str, now: float) -> bool:
    """A worker takes the job: one more attempt, held by ``lease``."""
    if not _may("take", job):
        return False
    job.state, job.worker, job.host, job.lease = JobState.PROCESSING, worker, host, lease
    job.started, job.attempts, job.progress, job.error = now, job.attempts + 1, 0.0, None
    return True


def report_progress(
    job: Job, progress: float, faces: int, frames: int, fps: float, eta_s: float | None, detail: str | None
) -> bool:
    """Only while processing: a late report must not reopen a finished job."""
    if not _may("report_progress", job):
        return False
    job.progress, job.faces, job.frames_analysed = progress, faces, frames
    job.analysis_fps, job.eta_s, job.detail = fps, eta_s, detail
    return True


def finish(job: Job, path: str, output: str, faces: int, frames: int, people_pending: bool, now: float) -> bool:
    job.state, job.path, job.output, job.faces = JobState.DONE, path, output, faces
    job.progress, job.eta_s, job.finished = 1.0, 0.0, now
    job.worker, job.lease, job.retry_at, job.waits = None, None, None, 0
    job.frames_analysed = max(job.frames_analysed, frames)
    job.people_pending = people_pending
    return True


def fail(job: Job, path: str, error: str, now: float) -> bool:
    job.state, job.path, job.error, job.finished = JobState.FAILED, path, error, now
    job.worker, job.lease = None, None
    return True


def requeue(job: Job, give_back_attempt: bool, retry_at: float | None, error: str | None) -> bool:
    """Back to the queue; ``give_back_attempt`` when the job was not at fault (the service stopped, the disk
    was full); ``retry_at``: not before then (``waits`` counts these, for back-off); ``error``: what cut the
    last attempt short, shown until the next one."""
    job.state, job.progress, job.worker, job.lease, job.started = JobState.QUEUED, 0.0, None, None, None
    job.eta_s, job.faces, job.frames_analysed, job.retry_at, job.error = None, 0, 0, retry_at, error
    job.attempts = max(job.attempts - int(give_back_attempt), 0)
    job.waits += int(retry_at is not None)
    return True


def retry(job: Job, path: str) -> bool:
    """A failed job, queued again by the operator with its attempts reset."""
    if not _may("retry", job):
        return False
    job.state, job.path, job.error, job.progress, job.attempts = JobState.QUEUED, path, None, 0.0, 0
    job.started = job.finished = job.retry_at = None
    return True


def mark_duplicate(job: Job, of: int, path: str, now: float) -> bool:
    job.state, job.duplicate_of, job.path, job.progress, job.finished = JobState.DUPLICATE, of, path, 1.0, now
    return True


def split(job: Job, parts: int, detail: str) -> bool:
    """The recording is processed in ``parts`` parts (jobs of their own, :func:`child`); it waits, split."""
    job.state, job.parts, job.worker, job.lease, job.progress, job.detail = (
        JobState.SPLIT, parts, None, None, 0.0, detail
    )  # fmt: skip
    return True


def part_done(job: Job, frames: int, faces: int, now: float) -> bool:
    if not _may("part_done", job):
        return False
    job.state, job.progress, job.eta_s, job.finished = JobState.DONE, 1.0, 0.0, now
    job.worker, job.lease, job.frames_analysed, job.faces = None, None, frames, faces
    return True


def cancel(job: Job, reason: str, now: float) -> bool:
    """A part or merge of a recording that failed fails too (its lease ends); settled ones stay as they are."""
    if not _may("cancel", job):
        return False
    job.state, job.error, job.finished, job.worker, job.lease = JobState.FAILED, reason, now, None, None
    return True


def people_indexed(job: Job) -> bool:
    job.people_pending = False
    return True


def roll_up(parent: Job, children: Sequence[Job]) -> bool:
    """A split recording's progress: its parts' (done ones count whole) and the frames they analysed."""
    parts = [j for j in children if j.kind is JobKind.PART]
    if not parts or not _may("roll_up", parent):
        return False
    parent.progress = sum(1.0 if j.state is JobState.DONE else j.progress for j in parts) / len(parts)
    parent.frames_analysed = sum(j.frames_analysed for j in parts)
    return True


def merge_due(parent: Job, children: Sequence[Job]) -> bool:
    """Every part done and no merge yet: the merge job is to be queued (once)."""
    parts = [j for j in children if j.kind is JobKind.PART]
    if parent.state is not JobState.SPLIT or any(j.kind is JobKind.MERGE for j in children):
        return False
    return len(parts) >= parent.parts and all(j.state is JobState.DONE for j in parts)


def child(parent: Job, kind: JobKind, number: int | None, of: int, now: float) -> Job:
    """A queued part (``number`` of ``of``, from 1) or merge of a split recording; its id is the store's to
    give (0 here)."""
    label = f"part {number} of {of}" if kind is JobKind.PART else "merge"
    return Job(
        id=0,
        name=f"{parent.name} [{label}]",
        path=parent.path,
        sha256=parent.sha256,
        size=parent.size,
        state=JobState.QUEUED,
        created=now,
        updated=now,
        kind=kind,
        parent=parent.id,
        part=number,
    )


def new(
    name: str, path: str, sha256: str, size: int, source: str | None, state: JobState, error: str | None, now: float
) -> Job:
    """A job as received (or queued at once, or failed where it lay); its id is the store's to give (0 here)."""
    finished = now if state is JobState.FAILED else None
    return Job(
        id=0,
        name=name,
        path=path,
        sha256=sha256,
        size=size,
        state=state,
        error=error,
        created=now,
        updated=now,
        finished=finished,
        source=source,
    )
