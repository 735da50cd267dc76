"""The durable job queue: one row per input file, in SQLite (WAL), behind a small interface.

States: queued -> processing -> done | failed; duplicate for content already processed.
A distributed queue can replace :class:`SqliteJobStore` by implementing :class:`JobStore`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

STATES = ("queued", "processing", "done", "failed", "duplicate")


@dataclass
class Job:
    id: int
    name: str  # original name, relative to the inbox
    path: str  # where the footage is now
    sha256: str
    size: int
    state: str
    progress: float = 0.0
    error: str | None = None
    output: str | None = None  # result folder in the outbox
    faces: int = 0
    frames_analysed: int = 0
    analysis_fps: float = 0.0  # analysed frames per second of wall time
    eta_s: float | None = None
    attempts: int = 0
    worker: int | None = None
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    updated: float = 0.0
    duplicate_of: int | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["duration_s"] = None if self.duration_s is None else round(self.duration_s, 2)
        return data


class JobStore(Protocol):
    def add(self, name: str, path: str, sha256: str, size: int) -> Job: ...
    def find_done_by_sha(self, sha256: str) -> Job | None: ...
    def mark_duplicate(self, job_id: int, of: int, path: str) -> None: ...
    def claim(self, worker: int) -> Job | None: ...
    def progress(self, job_id: int, progress: float, faces: int, frames: int, fps: float,
                 eta_s: float | None) -> None: ...  # fmt: skip
    def finish(self, job_id: int, path: str, output: str, faces: int, frames: int = 0) -> None: ...
    def fail(self, job_id: int, path: str, error: str) -> None: ...
    def requeue(self, job_id: int) -> None: ...
    def retry(self, job_id: int, path: str) -> bool: ...
    def get(self, job_id: int) -> Job | None: ...
    def list(self, limit: int = 50, state: str | None = None) -> list[Job]: ...
    def counts(self) -> dict[str, int]: ...
    def totals(self) -> dict[str, float]: ...
    def processing(self) -> list[Job]: ...
    def event(self, kind: str, message: str) -> None: ...
    def events(self, limit: int = 20) -> list[dict]: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued','processing','done','failed','duplicate')),
    progress REAL NOT NULL DEFAULT 0, error TEXT, output TEXT, faces INTEGER NOT NULL DEFAULT 0,
    frames_analysed INTEGER NOT NULL DEFAULT 0, analysis_fps REAL NOT NULL DEFAULT 0, eta_s REAL,
    attempts INTEGER NOT NULL DEFAULT 0, worker INTEGER,
    created REAL NOT NULL, started REAL, finished REAL, updated REAL NOT NULL, duplicate_of INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, id);
CREATE INDEX IF NOT EXISTS jobs_sha ON jobs(sha256, state);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL
);
"""


class SqliteJobStore:
    """Thread-safe (one connection per thread); several processes may share the file (WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._db().executescript(SCHEMA)  # executescript manages its own transaction

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @staticmethod
    def _job(row: sqlite3.Row | None) -> Job | None:
        return Job(**dict(row)) if row is not None else None

    def add(self, name: str, path: str, sha256: str, size: int) -> Job:
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO jobs (name, path, sha256, size, state, created, updated) "
                "VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                (name, path, sha256, size, now, now),
            )
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self._job(row)  # type: ignore[return-value]

    def find_done_by_sha(self, sha256: str) -> Job | None:
        row = (
            self._db()
            .execute(
                "SELECT * FROM jobs WHERE sha256 = ? AND state IN ('done','queued','processing') ORDER BY id LIMIT 1",
                (sha256,),
            )
            .fetchone()
        )
        return self._job(row)

    def mark_duplicate(self, job_id: int, of: int, path: str) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state='duplicate', duplicate_of=?, path=?, progress=1, finished=?, updated=? "
                "WHERE id=?",
                (of, path, now, now, job_id),
            )

    def claim(self, worker: int) -> Job | None:
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT id FROM jobs WHERE state='queued' ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET state='processing', worker=?, started=?, updated=?, attempts=attempts+1, "
                "progress=0, error=NULL WHERE id=?",
                (worker, now, now, row["id"]),
            )
            return self._job(db.execute("SELECT * FROM jobs WHERE id=?", (row["id"],)).fetchone())

    def progress(self, job_id, progress, faces, frames, fps, eta_s) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET progress=?, faces=?, frames_analysed=?, analysis_fps=?, eta_s=?, updated=? "
                "WHERE id=? AND state='processing'",
                (progress, faces, frames, fps, eta_s, time.time(), job_id),
            )

    def finish(self, job_id: int, path: str, output: str, faces: int, frames: int = 0) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state='done', path=?, output=?, faces=?, progress=1, eta_s=0, finished=?, "
                "updated=?, worker=NULL, frames_analysed=MAX(frames_analysed, ?) WHERE id=?",
                (path, output, faces, now, now, frames, job_id),
            )

    def fail(self, job_id: int, path: str, error: str) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state='failed', path=?, error=?, finished=?, updated=?, worker=NULL WHERE id=?",
                (path, error, now, now, job_id),
            )

    def requeue(self, job_id: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE jobs SET state='queued', progress=0, worker=NULL, started=NULL, eta_s=NULL, "
                "faces=0, frames_analysed=0, updated=? WHERE id=?",
                (time.time(), job_id),
            )

    def retry(self, job_id: int, path: str) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET state='queued', path=?, error=NULL, progress=0, attempts=0, started=NULL, "
                "finished=NULL, updated=? WHERE id=? AND state='failed'",
                (path, time.time(), job_id),
            )
            return cur.rowcount == 1

    def get(self, job_id: int) -> Job | None:
        return self._job(self._db().execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone())

    def list(self, limit: int = 50, state: str | None = None) -> list[Job]:
        if state:
            rows = (
                self._db()
                .execute("SELECT * FROM jobs WHERE state=? ORDER BY id DESC LIMIT ?", (state, limit))
                .fetchall()
            )
        else:
            rows = self._db().execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [self._job(r) for r in rows]  # type: ignore[misc]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for row in self._db().execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state"):
            counts[row["state"]] = row["n"]
        return counts

    def totals(self) -> dict[str, float]:
        row = (
            self._db()
            .execute(
                "SELECT COALESCE(SUM(frames_analysed),0) AS frames, COALESCE(SUM(faces),0) AS faces, "
                "COALESCE(SUM(CASE WHEN finished IS NOT NULL AND started IS NOT NULL THEN finished-started END),0) "
                "AS seconds FROM jobs WHERE state IN ('done','failed')"
            )
            .fetchone()
        )
        return {"frames_analysed": row["frames"], "faces": row["faces"], "processing_seconds": row["seconds"]}

    def processing(self) -> list[Job]:
        rows = self._db().execute("SELECT * FROM jobs WHERE state='processing' ORDER BY id").fetchall()
        return [self._job(r) for r in rows]  # type: ignore[misc]

    def event(self, kind: str, message: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO events (time, kind, message) VALUES (?, ?, ?)", (time.time(), kind, message))
            db.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) - 500 FROM events)")

    def events(self, limit: int = 20) -> list[dict]:
        rows = self._db().execute("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]
