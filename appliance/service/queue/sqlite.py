"""The embedded job queue: one row per input file in SQLite (WAL), shared by the service's processes.

Commits are synced (``synchronous=FULL``): a job moved on disk and then recorded stays recorded
through a power cut. File names are stored as bytes, so names that are not UTF-8 are kept as
they are; the ``name`` column holds the form a person reads.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ...common.sqlite import DurableDb
from ...events.model import Event, EventType, NewEvent
from ..jobs import KEPT_EVENTS, OUTBOX_CAP, Job, JobKind, JobState, LeaseLost, WorkerBeat

_STATE_LIST = ",".join(f"'{state.value}'" for state in JobState)
_KIND_LIST = ",".join(f"'{kind.value}'" for kind in JobKind)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({_STATE_LIST})),
    progress REAL NOT NULL DEFAULT 0, error TEXT, output TEXT, faces INTEGER NOT NULL DEFAULT 0,
    frames_analysed INTEGER NOT NULL DEFAULT 0, analysis_fps REAL NOT NULL DEFAULT 0, eta_s REAL,
    attempts INTEGER NOT NULL DEFAULT 0, worker INTEGER,
    created REAL NOT NULL, started REAL, finished REAL, updated REAL NOT NULL, duplicate_of INTEGER,
    source BLOB, retry_at REAL, waits INTEGER NOT NULL DEFAULT 0, detail TEXT,
    kind TEXT NOT NULL DEFAULT 'recording' CHECK (kind IN ({_KIND_LIST})), parent INTEGER, part INTEGER,
    parts INTEGER NOT NULL DEFAULT 0, host TEXT, lease TEXT, people_pending INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, id);
CREATE INDEX IF NOT EXISTS jobs_sha ON jobs(sha256, state);
CREATE INDEX IF NOT EXISTS jobs_parent ON jobs(parent);
CREATE TABLE IF NOT EXISTS workers (
    name TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, job INTEGER, seen REAL NOT NULL,
    started REAL NOT NULL, backend TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS channels (
    name TEXT PRIMARY KEY, delivered_id INTEGER NOT NULL DEFAULT 0, delivered_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0, error TEXT, connected INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
# columns added since the first release, for databases made before them
ADDED_COLUMNS = {
    "source": "BLOB",
    "retry_at": "REAL",
    "waits": "INTEGER NOT NULL DEFAULT 0",
    "detail": "TEXT",
    "kind": "TEXT NOT NULL DEFAULT 'recording'",
    "parent": "INTEGER",
    "part": "INTEGER",
    "parts": "INTEGER NOT NULL DEFAULT 0",
    "host": "TEXT",
    "lease": "TEXT",
    "people_pending": "INTEGER NOT NULL DEFAULT 0",
}
WORKER_GONE_S = 60.0  # a worker not heard of for this long is left off the list

R, Q, P, S, D, F, DUP = (state.value for state in JobState)
RECORDING, PART, MERGE = (kind.value for kind in JobKind)
PATH_COLUMNS = ("path", "source")


def _to_db(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def _from_db(value: bytes | str | None) -> str | None:
    return os.fsdecode(value) if isinstance(value, bytes) else value


class SqliteJobStore:
    """Thread-safe (one connection per thread); several processes may share the file (WAL)."""

    def __init__(self, path: str | Path, outbox_cap: int = OUTBOX_CAP) -> None:
        self.path = str(path)
        self.outbox_cap = outbox_cap
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._store = DurableDb(self.path)
        self._migrate()
        self._db().executescript(SCHEMA)  # executescript manages its own transaction

    def _migrate(self) -> None:
        """Bring a database made by an earlier version up to this schema (new states, new columns)."""
        db = self._db()
        row = db.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='jobs'").fetchone()
        if row is None:
            return
        old = [r["name"] for r in db.execute("PRAGMA table_info(jobs)")]
        for column, kind in ADDED_COLUMNS.items():
            if column not in old:
                db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
        if all(f"'{state.value}'" in row["sql"] for state in JobState):
            return
        old = [r["name"] for r in db.execute("PRAGMA table_info(jobs)")]
        db.execute("BEGIN IMMEDIATE")
        db.execute("ALTER TABLE jobs RENAME TO jobs_old")
        db.execute("DROP INDEX IF EXISTS jobs_state")
        db.execute("DROP INDEX IF EXISTS jobs_sha")
        db.executescript("COMMIT;" + SCHEMA + "BEGIN IMMEDIATE;")
        columns = ", ".join(old)
        db.execute(f"INSERT INTO jobs ({columns}) SELECT {columns} FROM jobs_old")
        db.execute("DROP TABLE jobs_old")
        db.execute("COMMIT")

    def _db(self) -> sqlite3.Connection:
        return self._store.connection()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._store.transaction()

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
        return [self._job(row) for row in self._db().execute(sql, args).fetchall()]

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
        now = time.time()
        finished = now if state is JobState.FAILED else None
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO jobs (name, path, sha256, size, state, created, updated, source, error, finished) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, _to_db(path), sha256, size, state.value, now, now, _to_db(source), error, finished),
            )
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self._job(row)

    def queue(self, job_id: int, path: str) -> None:
        """A received job's file is in processing/ now: it may be taken."""
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state=?, path=?, updated=? WHERE id=? AND state=?",
                (Q, _to_db(path), time.time(), job_id, R),
            )

    def forget(self, job_id: int) -> None:
        """Drop a received job whose file never left the inbox (the inbox will offer it again)."""
        with self._tx() as db:
            db.execute("DELETE FROM jobs WHERE id=? AND state=?", (job_id, R))

    def failed_in_place(self, source: str) -> Job | None:
        """The newest failed job for an inbox file that could not be taken (left where it was)."""
        return self._one(
            "SELECT * FROM jobs WHERE source=? AND path=? AND state=? ORDER BY id DESC LIMIT 1",
            (_to_db(source), _to_db(source), F),
        )

    def find_active_or_done(self, sha256: str) -> Job | None:
        """The first job with this content that is done or on its way to it (a duplicate's original)."""
        return self._one(
            "SELECT * FROM jobs WHERE sha256 = ? AND kind = ? AND state IN (?, ?, ?, ?) ORDER BY id LIMIT 1",
            (sha256, RECORDING, D, Q, P, S),
        )

    def mark_duplicate(self, job_id: int, of: int, path: str) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state=?, duplicate_of=?, path=?, progress=1, finished=?, updated=? WHERE id=?",
                (DUP, of, _to_db(path), now, now, job_id),
            )

    def claim(self, worker: int, host: str | None = None) -> Job | None:
        """The next job a worker may take: a merge first (it finishes a recording), then parts, then the oldest."""
        now = time.time()
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state=? AND (retry_at IS NULL OR retry_at <= ?) "
                "ORDER BY CASE kind WHEN ? THEN 0 WHEN ? THEN 1 ELSE 2 END, id LIMIT 1",
                (Q, now, MERGE, PART),
            ).fetchone()
            if row is None:
                return None
            return self._take(db, row["id"], worker, host, uuid.uuid4().hex, now)

    def start(self, job_id: int, worker: int, host: str, lease: str) -> Job | None:
        """Take this job if it is queued (and not waiting); None otherwise."""
        now = time.time()
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE id=? AND state=? AND (retry_at IS NULL OR retry_at <= ?)", (job_id, Q, now)
            ).fetchone()
            return None if row is None else self._take(db, job_id, worker, host, lease, now)

    def _take(self, db: sqlite3.Connection, job_id: int, worker: int, host: str | None, lease: str, now: float) -> Job:
        db.execute(
            "UPDATE jobs SET state=?, worker=?, host=?, lease=?, started=?, updated=?, attempts=attempts+1, "
            "progress=0, error=NULL WHERE id=?",
            (P, worker, host, lease, now, now, job_id),
        )
        return self._job(db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone())

    def _check_lease(self, db: sqlite3.Connection, job_id: int, lease: str | None) -> None:
        if lease is None:
            return
        row = db.execute("SELECT lease FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None or row["lease"] != lease:
            raise LeaseLost(f"job {job_id} is no longer held by this run")

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
            db.execute(
                "UPDATE jobs SET progress=?, faces=?, frames_analysed=?, analysis_fps=?, eta_s=?, updated=?, detail=? "
                "WHERE id=? AND state=?",
                (progress, faces, frames, fps, eta_s, now, detail, job_id, P),
            )
            row = db.execute("SELECT parent FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is not None and row["parent"] is not None:
                self._roll_up(db, row["parent"], now)

    def _roll_up(self, db: sqlite3.Connection, parent: int, now: float) -> None:
        """A split recording's progress: its parts' (done ones count whole), faces so far, the slowest part's ETA."""
        db.execute(
            "UPDATE jobs SET progress=(SELECT AVG(CASE state WHEN ? THEN 1.0 ELSE progress END) FROM jobs p "
            "WHERE p.parent=jobs.id AND p.kind=?), frames_analysed=(SELECT SUM(frames_analysed) FROM jobs p "
            "WHERE p.parent=jobs.id AND p.kind=?), updated=? WHERE id=? AND state=?",
            (D, PART, PART, now, parent, S),
        )

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
        with self._tx() as db:
            self._check_lease(db, job_id, lease)
            self._emit(db, events, now)
            db.execute(
                "UPDATE jobs SET state=?, path=?, output=?, faces=?, progress=1, eta_s=0, finished=?, updated=?, "
                "worker=NULL, lease=NULL, frames_analysed=MAX(frames_analysed, ?), retry_at=NULL, waits=0, "
                "people_pending=? WHERE id=?",
                (D, _to_db(path), output, faces, now, now, frames, int(people_pending), job_id),
            )

    def fail(
        self, job_id: int, path: str, error: str, events: Sequence[NewEvent] = (), lease: str | None = None
    ) -> None:
        now = time.time()
        with self._tx() as db:
            self._check_lease(db, job_id, lease)
            self._emit(db, events, now)
            db.execute(
                "UPDATE jobs SET state=?, path=?, error=?, finished=?, updated=?, worker=NULL, lease=NULL WHERE id=?",
                (F, _to_db(path), error, now, now, job_id),
            )

    # -- split recordings ------------------------------------------------------------------------
    def split(self, job_id: int, parts: int, detail: str) -> list[Job]:
        """The recording is processed in ``parts`` parts: each a queued job (numbered from 1); it waits, split."""
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            db.execute(
                "UPDATE jobs SET state=?, parts=?, worker=NULL, lease=NULL, progress=0, detail=?, updated=? WHERE id=?",
                (S, parts, detail, now, job_id),
            )
            rows = db.execute("SELECT part FROM jobs WHERE parent=? AND kind=?", (job_id, PART))
            existing = {r["part"] for r in rows}
            for number in range(1, parts + 1):
                if number not in existing:
                    self._child(db, row, PART, number, now)
            return self._many_in(db, "SELECT * FROM jobs WHERE parent=? AND kind=? ORDER BY part", (job_id, PART))

    def _child(self, db: sqlite3.Connection, parent: sqlite3.Row, kind: str, number: int | None, now: float) -> None:
        label = f"part {number} of {parent['parts'] or '?'}" if kind == PART else "merge"
        db.execute(
            "INSERT INTO jobs (name, path, sha256, size, state, created, updated, kind, parent, part) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (f"{parent['name']} [{label}]", parent["path"], parent["sha256"], parent["size"], Q, now, now, kind,
             parent["id"], number),
        )  # fmt: skip

    def _many_in(self, db: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> list[Job]:
        return [self._job(row) for row in db.execute(sql, args).fetchall()]

    def part_done(self, job_id: int, frames: int, faces: int) -> Job | None:
        """A part done; when it is the recording's last, the merge job is queued (once) and returned."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state=?, progress=1, eta_s=0, finished=?, updated=?, worker=NULL, lease=NULL, "
                "frames_analysed=?, faces=? WHERE id=? AND state=?",
                (D, now, now, frames, faces, job_id, P),
            )
            part = db.execute("SELECT parent FROM jobs WHERE id=?", (job_id,)).fetchone()
            parent = db.execute("SELECT * FROM jobs WHERE id=? AND state=?", (part["parent"], S)).fetchone()
            if parent is None:
                return None
            self._roll_up(db, parent["id"], now)
            left = db.execute(
                "SELECT COUNT(*) AS n FROM jobs WHERE parent=? AND kind=? AND state<>?", (parent["id"], PART, D)
            ).fetchone()["n"]
            merges = db.execute("SELECT COUNT(*) AS n FROM jobs WHERE parent=? AND kind=?", (parent["id"], MERGE))
            if left or merges.fetchone()["n"]:
                return None
            self._child(db, parent, MERGE, None, now)
            merge = db.execute("SELECT * FROM jobs WHERE parent=? AND kind=?", (parent["id"], MERGE)).fetchone()
            return self._job(merge)

    def parts_of(self, job_id: int) -> list[Job]:
        """A split recording's parts and merge, in order."""
        return self._many("SELECT * FROM jobs WHERE parent=? ORDER BY kind DESC, part", (job_id,))

    def cancel_parts(self, job_id: int, reason: str) -> None:
        """A split recording failed: its parts and merge that are not done fail too (their leases end)."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state=?, error=?, finished=?, updated=?, worker=NULL, lease=NULL "
                "WHERE parent=? AND state NOT IN (?, ?)",
                (F, reason, now, now, job_id, D, F),
            )

    # -- people indexed by the ingest box ------------------------------------------------------
    def people_pending(self) -> list[Job]:
        return self._many("SELECT * FROM jobs WHERE people_pending=1 AND state=? ORDER BY id", (D,))

    def people_indexed(self, job_id: int, events: Sequence[NewEvent] = ()) -> None:
        with self._tx() as db:
            self._emit(db, events, time.time())
            db.execute("UPDATE jobs SET people_pending=0 WHERE id=?", (job_id,))

    # -- workers ---------------------------------------------------------------------------------
    def beat(self, beat: WorkerBeat) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO workers (name, host, pid, job, seen, started, backend) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET host=excluded.host, pid=excluded.pid, job=excluded.job, "
                "seen=excluded.seen, started=excluded.started, backend=excluded.backend",
                (beat.name, beat.host, beat.pid, beat.job, beat.seen, beat.started, beat.backend),
            )

    def workers(self) -> list[WorkerBeat]:
        rows = self._db().execute("SELECT * FROM workers WHERE seen > ? ORDER BY name", (time.time() - WORKER_GONE_S,))
        return [WorkerBeat(**dict(row)) for row in rows]

    def gone(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM workers WHERE name=?", (name,))

    def requeue(
        self, job_id: int, give_back_attempt: bool = False, retry_at: float | None = None, error: str | None = None
    ) -> None:
        """Back to the queue; ``give_back_attempt`` when the job was not at fault (the service stopped, the
        disk was full); ``retry_at``: not before then (``waits`` counts these, for back-off); ``error``: what
        cut the last attempt short, shown until the next one."""
        waited = int(retry_at is not None)
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state=?, progress=0, worker=NULL, lease=NULL, started=NULL, eta_s=NULL, faces=0, "
                "frames_analysed=0, updated=?, retry_at=?, attempts=MAX(attempts - ?, 0), waits=waits + ?, error=? "
                "WHERE id=?",
                (Q, time.time(), retry_at, int(give_back_attempt), waited, error, job_id),
            )

    def retry(self, job_id: int, path: str) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state=?, path=?, error=NULL, progress=0, attempts=0, started=NULL, finished=NULL, "
                "retry_at=NULL, updated=? WHERE id=? AND state=?",
                (Q, _to_db(path), time.time(), job_id, F),
            )
            return cur.rowcount == 1

    def get(self, job_id: int) -> Job | None:
        return self._one("SELECT * FROM jobs WHERE id=?", (job_id,))

    def recent(self, limit: int = 50, state: JobState | None = None) -> list[Job]:
        if state is not None:
            return self._many(
                "SELECT * FROM jobs WHERE state=? AND kind=? ORDER BY id DESC LIMIT ?", (state.value, RECORDING, limit)
            )
        return self._many("SELECT * FROM jobs WHERE kind=? ORDER BY id DESC LIMIT ?", (RECORDING, limit))

    def counts(self) -> dict[JobState, int]:
        counts = dict.fromkeys(JobState, 0)
        rows = self._db().execute("SELECT state, COUNT(*) AS n FROM jobs WHERE kind=? GROUP BY state", (RECORDING,))
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
                (D, F, RECORDING),
            )
            .fetchone()
        )
        return {"frames_analysed": row["frames"], "faces": row["faces"], "processing_seconds": row["seconds"]}

    def processing(self) -> list[Job]:
        return self._many("SELECT * FROM jobs WHERE state=? ORDER BY id", (P,))

    def received(self) -> list[Job]:
        return self._many("SELECT * FROM jobs WHERE state=? ORDER BY id", (R,))

    def paths(self) -> set[str]:
        """Where every job's footage is (or was last)."""
        return {str(_from_db(row["path"])) for row in self._db().execute("SELECT path FROM jobs")}

    def outputs(self) -> set[str]:
        """The result folders that finished jobs own."""
        rows = self._db().execute(
            "SELECT output FROM jobs WHERE state=? AND output IS NOT NULL AND kind=?", (D, RECORDING)
        )
        return {row["output"] for row in rows}

    # -- the events outbox ---------------------------------------------------------------------------
    def emit(self, events: Sequence[NewEvent]) -> None:
        with self._tx() as db:
            self._emit(db, events, time.time())

    def _emit(self, db: sqlite3.Connection, events: Sequence[NewEvent], now: float) -> None:
        for event in events:
            db.execute(
                "INSERT INTO outbox (time, type, data) VALUES (?, ?, ?)",
                (now, event.type.value, json.dumps(event.data)),
            )
        if events:
            dropped = db.execute(
                "DELETE FROM outbox WHERE id <= (SELECT MAX(id) - ? FROM outbox)", (self.outbox_cap,)
            ).rowcount
            if dropped > 0:
                db.execute(
                    "INSERT INTO counters (name, value) VALUES ('events_dropped', ?) ON CONFLICT(name) "
                    "DO UPDATE SET value = value + excluded.value",
                    (dropped,),
                )

    def register_channel(self, name: str) -> None:
        """A channel starts with the events from now on (a new receiver is not flooded with history)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO channels (name, delivered_id) VALUES (?, (SELECT COALESCE(MAX(id), 0) "
                "FROM outbox))",
                (name,),
            )

    def pending(self, channel: str, limit: int = 100) -> list[Event]:
        rows = (
            self._db()
            .execute(
                "SELECT o.* FROM outbox o, channels c WHERE c.name = ? AND o.id > c.delivered_id ORDER BY o.id LIMIT ?",
                (channel, limit),
            )
            .fetchall()
        )
        return [Event(r["id"], r["time"], EventType(r["type"]), json.loads(r["data"])) for r in rows]

    def delivered(self, channel: str, event_id: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE channels SET delivered_id = MAX(delivered_id, ?), delivered_at = ?, attempts = 0, "
                "error = NULL WHERE name = ?",
                (event_id, time.time(), channel),
            )

    def delivery_failed(self, channel: str, error: str) -> int:
        """Count a failed attempt; returns the attempts so far (for back-off)."""
        with self._tx() as db:
            db.execute("UPDATE channels SET attempts = attempts + 1, error = ? WHERE name = ?", (error, channel))
            row = db.execute("SELECT attempts FROM channels WHERE name = ?", (channel,)).fetchone()
        return int(row["attempts"]) if row else 0

    def channel_connected(self, channel: str, connected: bool) -> None:
        with self._tx() as db:
            db.execute("UPDATE channels SET connected = ? WHERE name = ?", (int(connected), channel))

    def channels(self) -> list[dict[str, Any]]:
        """Each channel: connected, last delivery, backlog, last error."""
        rows = self._db().execute(
            "SELECT c.*, (SELECT COUNT(*) FROM outbox o WHERE o.id > c.delivered_id) AS backlog FROM channels c "
            "ORDER BY c.name"
        )
        return [dict(r) for r in rows]

    def events_dropped(self) -> int:
        row = self._db().execute("SELECT value FROM counters WHERE name = 'events_dropped'").fetchone()
        return int(row["value"]) if row else 0

    def event(self, kind: str, message: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO events (time, kind, message) VALUES (?, ?, ?)", (time.time(), kind, message))
            db.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) - ? FROM events)", (KEPT_EVENTS,))

    def events(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._db().execute("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]
