"""The embedded store's roles besides the job queue, each on its own tables of the same database: the worker
registry (``workers``), the event outbox (``outbox``, ``channels``, ``counters``) and the operator log
(``events``). :class:`~.sqlite.SqliteJobStore` combines them with the queue, so that a job's outcome and the
events it causes are written in one transaction."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ...common.sqlite import DurableDb
from ...events.model import Event, EventType, NewEvent
from ..jobs import KEPT_EVENTS, OUTBOX_CAP, WorkerBeat

WORKER_GONE_S = 60.0  # a worker not heard of for this long is left off the list


class SqliteBase:
    """The database every role writes to: a thread-local connection and immediate transactions."""

    _store: DurableDb
    outbox_cap: int = OUTBOX_CAP

    def _db(self) -> sqlite3.Connection:
        return self._store.connection()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._store.transaction()


class SqliteWorkerRegistry(SqliteBase):
    """Which workers are alive and what each does (the page's list of workers)."""

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


class SqliteEventOutbox(SqliteBase):
    """Outgoing events (webhooks, MQTT) waiting for each channel, capped: past the cap the oldest go, counted."""

    def emit(self, events: Sequence[NewEvent]) -> None:
        with self._tx() as db:
            self._emit(db, events, time.time())

    def _emit(self, db: sqlite3.Connection, events: Sequence[NewEvent], now: float) -> None:
        """Inside the caller's transaction (a job's outcome and its events commit together)."""
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


class SqliteOperatorLog(SqliteBase):
    """What the page's log shows the operator (a retry, a stalled worker, a full disk), the newest kept."""

    def tell_operator(self, kind: str, message: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO events (time, kind, message) VALUES (?, ?, ?)", (time.time(), kind, message))
            db.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) - ? FROM events)", (KEPT_EVENTS,))

    def operator_log(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._db().execute("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]
