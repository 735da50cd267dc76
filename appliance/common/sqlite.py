"""SQLite as the box's durable stores use it: one connection per thread, WAL, every commit synced.

``synchronous=FULL`` because a job or a person recorded just before a power cut must still be there
after it (a commit made after a footage move must never be undone), and ``BEGIN IMMEDIATE`` so that
a writer takes the lock at the start of its transaction instead of failing half-way through it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 30  # a writer waits this long for another process's transaction


class DurableDb:
    """A thread-local connection to ``path``, and immediate transactions on it."""

    def __init__(self, path: str | Path, foreign_keys: bool = False) -> None:
        self.path = str(path)
        self.foreign_keys = foreign_keys
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            if self.foreign_keys:
                db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back if the block raises."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
