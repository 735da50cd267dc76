"""The embedded store's tables, and bringing a database made by an earlier version up to them."""

from __future__ import annotations

import sqlite3

from ..jobs import JobKind, JobState

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


def create_or_migrate(db: sqlite3.Connection) -> None:
    """The tables as this version has them: an earlier version's database migrated first."""
    _migrate(db)
    db.executescript(SCHEMA)  # executescript manages its own transaction


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to this schema (new states, new columns)."""
    row = db.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='jobs'").fetchone()
    if row is None:
        return
    old = [r["name"] for r in db.execute("PRAGMA table_info(jobs)")]
    for column, kind in ADDED_COLUMNS.items():
        if column not in old:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
    if all(f"'{state.value}'" in row["sql"] for state in JobState):
        return
    columns = ", ".join(r["name"] for r in db.execute("PRAGMA table_info(jobs)"))
    # one script, one transaction: the table is made again with today's states and its rows copied
    # (executescript commits any open transaction first, so the BEGIN is the script's own)
    script = (
        "BEGIN IMMEDIATE; ALTER TABLE jobs RENAME TO jobs_old; DROP INDEX IF EXISTS jobs_state; "
        "DROP INDEX IF EXISTS jobs_sha; DROP INDEX IF EXISTS jobs_parent;"
        + SCHEMA
        + f"INSERT INTO jobs ({columns}) SELECT {columns} FROM jobs_old; DROP TABLE jobs_old; COMMIT;"
    )
    try:
        db.executescript(script)
    except sqlite3.Error:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
