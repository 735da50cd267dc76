"""The embedded job queue: one row per input file in SQLite (WAL), shared by the service's processes.

Commits are synced (``synchronous=FULL``): a job moved on disk and then recorded stays recorded
through a power cut. File names are stored as bytes, so names that are not UTF-8 are kept as
they are; the ``name`` column holds the form a person reads. Every change is a move of
:mod:`.lifecycle` applied to the job read inside an immediate transaction, then the whole row
written back: this module decides no transition of its own.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from ...common.sqlite import DurableDb
from ...events.model import NewEvent
from ..jobs import OUTBOX_CAP, Job, JobKind, JobState, LeaseLost
from . import lifecycle
from .sqlite_roles import SqliteEventOutbox, SqliteOperatorLog, SqliteWorkerRegistry
from .sqlite_schema import create_or_migrate

PATH_COLUMNS = ("path", "source")
COLUMNS = tuple(field.name for field in dataclasses.fields(Job) if field.name != "id")
_UPDATE = "UPDATE jobs SET " + ", ".join(f"{c}=?" for c in COLUMNS) + " WHERE id=?"
_INSERT = f"INSERT INTO jobs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
# a merge first (it finishes a recording), then parts, then the oldest
_NEXT = (
    "SELECT id FROM jobs WHERE state=? AND (retry_at IS NULL OR retry_at <= ?) "
    "ORDER BY CASE kind WHEN ? THEN 0 WHEN ? THEN 1 ELSE 2 END, id LIMIT 1"
)
Move = Callable[[Job], bool]


def _to_db(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def _from_db(value: bytes | str | None) -> str | None:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _row_values(job: Job) -> tuple[Any, ...]:
    values = []
    for column in COLUMNS:
        value = getattr(job, column)
        if column in PATH_COLUMNS:
            value = _to_db(value)
        elif isinstance(value, JobState | JobKind):
            value = value.value
        elif isinstance(value, bool):
            value = int(value)
        values.append(value)
    return tuple(values)


class SqliteJobStore(SqliteWorkerRegistry, SqliteEventOutbox, SqliteOperatorLog):
    """Thread-safe (one connection per thread); several processes may share the file (WAL)."""

    def __init__(self, path: str | Path, outbox_cap: int = OUTBOX_CAP) -> None:
        self.path = str(path)
        self.outbox_cap = outbox_cap
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._store = DurableDb(self.path)
        create_or_migrate(self._db())

    # -- persisting jobs ---------------------------------------------------------------------------
    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        data = dict(row)
        for column in PATH_COLUMNS:
            data[column] = _from_db(data[column])
        return Job(**data)

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> Job | None:
        row = self._db().execute(sql, args).fetchone()
        return None if row is None else self._job(row)

    def _many(self, sql: str, args: tuple[Any, ...] = ()) -> list[Job]:
        return self._many_in(self._db(), sql, args)

    def _many_in(self, db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[Job]:
        return [self._job(row) for row in db.execute(sql, args).fetchall()]

    def _load(self, db: sqlite3.Connection, job_id: int | None) -> Job | None:
        row = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else self._job(row)

    def _insert(self, db: sqlite3.Connection, job: Job) -> Job:
        cur = db.execute(_INSERT, _row_values(job))
        return dataclasses.replace(job, id=int(cur.lastrowid or 0))

    def _save(self, db: sqlite3.Connection, job: Job, now: float) -> Job:
        job.updated = now
        db.execute(_UPDATE, (*_row_values(job), job.id))
        return job

    def _apply(
        self, db: sqlite3.Connection, job_id: int | None, move: Move, now: float, lease: str | None = None
    ) -> Job | None:
        """One move of the lifecycle on the job, inside the caller's transaction; the job as saved, or None."""
        job = self._load(db, job_id)
        if job is None and lease is not None:
            raise LeaseLost(f"job {job_id} is no longer held by this run")
        if job is None:
            return None
        lifecycle.check_lease(job, lease)
        return self._save(db, job, now) if move(job) else None

    def _change(self, job_id: int, move: Move, events: Sequence[NewEvent] = (), lease: str | None = None) -> Job | None:
        now = time.time()
        with self._tx() as db:
            self._emit(db, events, now)
            return self._apply(db, job_id, move, now, lease)

    # -- the job queue -----------------------------------------------------------------------------
    def add(
        self,
        name: str,
        path: str,
        sha256: str,
        size: int,
        source: str | None = None,
        state: JobState = JobState.QUEUED,
        error: str | None = None,
    ) -> Job:
        job = lifecycle.new(name, path, sha256, size, source, state, error, time.time())
        with self._tx() as db:
            return self._insert(db, job)

    def queue(self, job_id: int, path: str) -> None:
        """A received job's file is in processing/ now: it may be taken."""
        self._change(job_id, lambda job: lifecycle.queue(job, path))

    def forget(self, job_id: int) -> None:
        """Drop a received job whose file never left the inbox (the inbox will offer it again)."""
        with self._tx() as db:
            db.execute("DELETE FROM jobs WHERE id=? AND state=?", (job_id, JobState.RECEIVED.value))

    def failed_in_place(self, source: str) -> Job | None:
        """The newest failed job for an inbox file that could not be taken (left where it was)."""
        return self._one(
            "SELECT * FROM jobs WHERE source=? AND path=? AND state=? ORDER BY id DESC LIMIT 1",
            (_to_db(source), _to_db(source), JobState.FAILED.value),
        )

    def find_active_or_done(self, sha256: str) -> Job | None:
        """The first job with this content that is done or on its way to it (a duplicate's original)."""
        states = (JobState.DONE, JobState.QUEUED, JobState.PROCESSING, JobState.SPLIT)
        return self._one(
            "SELECT * FROM jobs WHERE sha256 = ? AND kind = ? AND state IN (?, ?, ?, ?) ORDER BY id LIMIT 1",
            (sha256, JobKind.RECORDING.value, *(s.value for s in states)),
        )

    def mark_duplicate(self, job_id: int, of: int, path: str) -> None:
        self._change(job_id, lambda job: lifecycle.mark_duplicate(job, of, path, time.time()))

    def claim(self, worker: int, host: str | None = None) -> Job | None:
        """The next job a worker may take: a merge first (it finishes a recording), then parts, then the oldest."""
        now = time.time()
        with self._tx() as db:
            args = (JobState.QUEUED.value, now, JobKind.MERGE.value, JobKind.PART.value)
            row = db.execute(_NEXT, args).fetchone()
            if row is None:
                return None
            lease = uuid.uuid4().hex
            return self._apply(db, row["id"], lambda job: lifecycle.take(job, worker, host, lease, now), now)

    def start(self, job_id: int, worker: int, host: str, lease: str) -> Job | None:
        """Take this job if it is queued (and not waiting); None otherwise."""
        now = time.time()

        def take(job: Job) -> bool:
            return not lifecycle.waiting(job, now) and lifecycle.take(job, worker, host, lease, now)

        with self._tx() as db:
            return self._apply(db, job_id, take, now)

    def progress(
        self,
        job_id: int,
        progress: float,
        faces: int,
        frames: int,
        fps: float,
        eta_s: float | None,
        detail: str | None = None,
    ) -> None:
        now = time.time()
        with self._tx() as db:
            move = partial(lifecycle.report_progress, progress=progress, faces=faces, frames=frames, fps=fps,
                           eta_s=eta_s, detail=detail)  # fmt: skip
            job = self._apply(db, job_id, move, now)
            if job is not None and job.parent is not None:
                self._roll_up(db, job.parent, now)

    def _roll_up(self, db: sqlite3.Connection, parent_id: int, now: float) -> None:
        parts = self._many_in(db, "SELECT * FROM jobs WHERE parent=?", (parent_id,))
        self._apply(db, parent_id, lambda parent: lifecycle.roll_up(parent, parts), now)

    def finish(
        self,
        job_id: int,
        path: str,
        output: str,
        faces: int,
        frames: int = 0,
        events: Sequence[NewEvent] = (),
        people_pending: bool = False,
        lease: str | None = None,
    ) -> None:
        """Done, and the events it causes recorded in the same transaction (nothing told that did not happen,
        nothing that happened untold). ``lease``: only if the job is still held by that run."""
        now = time.time()
        move = partial(lifecycle.finish, path=path, output=output, faces=faces, frames=frames,
                       people_pending=people_pending, now=now)  # fmt: skip
        self._change(job_id, move, events, lease)

    def fail(
        self, job_id: int, path: str, error: str, events: Sequence[NewEvent] = (), lease: str | None = None
    ) -> None:
        self._change(job_id, lambda job: lifecycle.fail(job, path, error, time.time()), events, lease)

    def requeue(
        self, job_id: int, give_back_attempt: bool = False, retry_at: float | None = None, error: str | None = None
    ) -> None:
        """Back to the queue (:func:`.lifecycle.requeue`)."""
        self._change(job_id, lambda job: lifecycle.requeue(job, give_back_attempt, retry_at, error))

    def retry(self, job_id: int, path: str) -> bool:
        return self._change(job_id, lambda job: lifecycle.retry(job, path)) is not None

    # -- split recordings ------------------------------------------------------------------------
    def split(self, job_id: int, parts: int, detail: str) -> list[Job]:
        """The recording is processed in ``parts`` parts: each a queued job (numbered from 1); it waits, split."""
        now = time.time()
        with self._tx() as db:
            parent = self._apply(db, job_id, lambda job: lifecycle.split(job, parts, detail), now)
            if parent is None:
                return []
            existing = {j.part for j in self._children(db, job_id) if j.kind is JobKind.PART}
            for number in range(1, parts + 1):
                if number not in existing:
                    self._insert(db, lifecycle.child(parent, JobKind.PART, number, parts, now))
            return [j for j in self._children(db, job_id) if j.kind is JobKind.PART]

    def _children(self, db: sqlite3.Connection, job_id: int) -> list[Job]:
        return self._many_in(db, "SELECT * FROM jobs WHERE parent=? ORDER BY kind DESC, part", (job_id,))

    def part_done(self, job_id: int, frames: int, faces: int) -> Job | None:
        """A part done; when it is the recording's last, the merge job is queued (once) and returned."""
        now = time.time()
        with self._tx() as db:
            part = self._apply(db, job_id, lambda job: lifecycle.part_done(job, frames, faces, now), now)
            parent = self._load(db, part.parent if part is not None else self._parent_of(db, job_id))
            if parent is None or parent.state is not JobState.SPLIT:
                return None
            self._roll_up(db, parent.id, now)
            if not lifecycle.merge_due(parent, self._children(db, parent.id)):
                return None
            return self._insert(db, lifecycle.child(parent, JobKind.MERGE, None, parent.parts, now))

    @staticmethod
    def _parent_of(db: sqlite3.Connection, job_id: int) -> int | None:
        row = db.execute("SELECT parent FROM jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else row["parent"]

    def parts_of(self, job_id: int) -> list[Job]:
        """A split recording's parts and merge, in order."""
        return self._children(self._db(), job_id)

    def cancel_parts(self, job_id: int, reason: str) -> None:
        """A split recording failed: its parts and merge that are not done fail too (their leases end)."""
        now = time.time()
        with self._tx() as db:
            for child in self._children(db, job_id):
                self._apply(db, child.id, lambda job: lifecycle.cancel(job, reason, now), now)

    # -- people indexed by the ingest box ------------------------------------------------------
    def people_pending(self) -> list[Job]:
        return self._many("SELECT * FROM jobs WHERE people_pending=1 AND state=? ORDER BY id", (JobState.DONE.value,))

    def people_indexed(self, job_id: int, events: Sequence[NewEvent] = ()) -> None:
        self._change(job_id, lifecycle.people_indexed, events)

    # -- reading -----------------------------------------------------------------------------------
    def get(self, job_id: int) -> Job | None:
        return self._one("SELECT * FROM jobs WHERE id=?", (job_id,))

    def recent(self, limit: int = 50, state: JobState | None = None) -> list[Job]:
        recording = JobKind.RECORDING.value
        if state is not None:
            return self._many(
                "SELECT * FROM jobs WHERE state=? AND kind=? ORDER BY id DESC LIMIT ?", (state.value, recording, limit)
            )
        return self._many("SELECT * FROM jobs WHERE kind=? ORDER BY id DESC LIMIT ?", (recording, limit))

    def counts(self) -> dict[JobState, int]:
        counts = dict.fromkeys(JobState, 0)
        rows = self._db().execute(
            "SELECT state, COUNT(*) AS n FROM jobs WHERE kind=? GROUP BY state", (JobKind.RECORDING.value,)
        )
        for row in rows:
            counts[JobState(row["state"])] = row["n"]
        return counts

    def totals(self) -> dict[str, float]:
        row = (
            self._db()
            .execute(
                "SELECT COALESCE(SUM(frames_analysed),0) AS frames, COALESCE(SUM(faces),0) AS faces, "
                "COALESCE(SUM(CASE WHEN finished IS NOT NULL AND started IS NOT NULL THEN finished-started END),0) "
                "AS seconds FROM jobs WHERE state IN (?, ?) AND kind=?",
                (JobState.DONE.value, JobState.FAILED.value, JobKind.RECORDING.value),
            )
            .fetchone()
        )
        return {"frames_analysed": row["frames"], "faces": row["faces"], "processing_seconds": row["seconds"]}

    def processing(self) -> list[Job]:
        return self._many("SELECT * FROM jobs WHERE state=? ORDER BY id", (JobState.PROCESSING.value,))

    def received(self) -> list[Job]:
        return self._many("SELECT * FROM jobs WHERE state=? ORDER BY id", (JobState.RECEIVED.value,))

    def paths(self) -> set[str]:
        """Where every job's footage is (or was last)."""
        return {str(_from_db(row["path"])) for row in self._db().execute("SELECT path FROM jobs")}

    def outputs(self) -> set[str]:
        """The result folders that finished jobs own."""
        rows = self._db().execute(
            "SELECT output FROM jobs WHERE state=? AND output IS NOT NULL AND kind=?",
            (JobState.DONE.value, JobKind.RECORDING.value),
        )
        return {row["output"] for row in rows}
