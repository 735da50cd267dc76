"""Signed-in sessions the box remembers, so that signing out ends a session for good.

The session cookie is signed, not stored: without a record here, a copy of it (from a shared
computer, a proxy's log, a backup of the browser) would stay valid after "Sign out" until the token
changes. Each sign-in gets a random id; the cookie carries it, the box keeps its hash, and a session
counts only while that hash is here. Sign-out deletes it; sessions unused for ``IDLE_LIMIT_S`` go.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path

from ..common.sqlite import DurableDb

ID_BYTES = 24
IDLE_LIMIT_S = 30 * 86400.0  # a session not used this long is forgotten (signed out)
SEEN_EVERY_S = 3600.0  # how often a session's last use is written down (not on every request)
SCHEMA = "CREATE TABLE IF NOT EXISTS sessions (hash TEXT PRIMARY KEY, created REAL NOT NULL, seen REAL NOT NULL)"


def _hash(session_id: str) -> str:
    """What is stored: the id itself would be a live session for whoever reads the state folder."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogateescape")).hexdigest()


class SessionStore:
    """The live sessions, in ``state/sessions.sqlite`` (survives restarts, like the signing key)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = DurableDb(path)
        with self._db.transaction() as db:
            db.execute(SCHEMA)

    def begin(self) -> str:
        """A new session's id (for the cookie); sessions idle too long are dropped on the way."""
        session_id = secrets.token_urlsafe(ID_BYTES)
        now = time.time()
        with self._db.transaction() as db:
            db.execute("DELETE FROM sessions WHERE seen < ?", (now - IDLE_LIMIT_S,))
            db.execute("INSERT INTO sessions (hash, created, seen) VALUES (?, ?, ?)", (_hash(session_id), now, now))
        return session_id

    def alive(self, session_id: str) -> bool:
        """Signed in and not signed out (nor idle too long); notes the use now and then."""
        key, now = _hash(session_id), time.time()
        row = self._db.connection().execute("SELECT seen FROM sessions WHERE hash = ?", (key,)).fetchone()
        if row is None or now - row["seen"] > IDLE_LIMIT_S:
            return False
        if now - row["seen"] > SEEN_EVERY_S:
            with self._db.transaction() as db:
                db.execute("UPDATE sessions SET seen = ? WHERE hash = ?", (now, key))
        return True

    def end(self, session_id: str) -> None:
        with self._db.transaction() as db:
            db.execute("DELETE FROM sessions WHERE hash = ?", (_hash(session_id),))
