"""The fleet's store's roles besides the job queue, on keys of the same Redis: the worker registry
(``appliance:worker:*``), the event outbox (``appliance:outbox``, ``appliance:channels``) and the operator
log (``appliance:events``). :class:`~.redis.RedisJobStore` combines them with the queue, so that a job's
outcome and the events it causes are written in one transaction."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from ...events.model import Event, EventType, NewEvent
from ..jobs import KEPT_EVENTS, OUTBOX_CAP, WorkerBeat

PREFIX = "appliance:"
WORKER_GONE_S = 60  # a worker not heard of for this long is left off the list

# the outbox past its cap: the oldest go, counted (one script: atomic with the transaction it is part of)
TRIM_OUTBOX = """
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if extra > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
  redis.call('HINCRBY', KEYS[2], 'events_dropped', extra)
end
return extra
"""


class RedisBase:
    r: Any  # Any: redis-py's return types are unions of sync and async ones
    outbox_cap: int = OUTBOX_CAP


class RedisWorkerRegistry(RedisBase):
    """Which workers of the fleet are alive and what each does; a worker's key expires when it goes quiet."""

    def beat(self, beat: WorkerBeat) -> None:
        with self.r.pipeline() as pipe:
            pipe.set(f"{PREFIX}worker:{beat.name}", json.dumps(beat.to_dict()), ex=WORKER_GONE_S)
            pipe.sadd(f"{PREFIX}workers", beat.name)
            pipe.execute()

    def workers(self) -> list[WorkerBeat]:
        names = sorted(n.decode() for n in self.r.smembers(f"{PREFIX}workers"))
        found = []
        for name, raw in zip(names, self.r.mget([f"{PREFIX}worker:{n}" for n in names]) if names else [], strict=True):
            if raw is None:
                self.r.srem(f"{PREFIX}workers", name)
            else:
                found.append(WorkerBeat(**json.loads(raw)))
        return found

    def gone(self, name: str) -> None:
        with self.r.pipeline() as pipe:
            pipe.delete(f"{PREFIX}worker:{name}")
            pipe.srem(f"{PREFIX}workers", name)
            pipe.execute()


class RedisEventOutbox(RedisBase):
    """Outgoing events (webhooks, MQTT) in a sorted set by id; each channel's place in a hash."""

    def _reserve(self, pipe: Any, count: int) -> list[int]:
        """Ids for ``count`` new events (taken before the transaction; a retried transaction skips some)."""
        if not count:
            return []
        last = int(pipe.incrby(f"{PREFIX}outbox:id", count))
        return list(range(last - count + 1, last + 1))

    def _emit(self, pipe: Any, events: Sequence[NewEvent], ids: list[int], now: float) -> None:
        """Inside the caller's transaction (a job's outcome and its events commit together)."""
        for event_id, event in zip(ids, events, strict=True):
            body = json.dumps({"id": event_id, "time": now, "type": event.type.value, "data": event.data})
            pipe.zadd(f"{PREFIX}outbox", {body: event_id})
        if events:
            pipe.eval(TRIM_OUTBOX, 2, f"{PREFIX}outbox", f"{PREFIX}counters", self.outbox_cap)

    def emit(self, events: Sequence[NewEvent]) -> None:
        with self.r.pipeline() as pipe:
            ids = self._reserve(self.r, len(events))
            pipe.multi()
            self._emit(pipe, events, ids, time.time())
            pipe.execute()

    def _channel(self, name: str) -> dict[str, Any] | None:
        raw = self.r.hget(f"{PREFIX}channels", name)
        return None if raw is None else json.loads(raw)

    def _set_channel(self, name: str, **values: Any) -> dict[str, Any]:
        channel = self._channel(name) or {"name": name, "delivered_id": 0, "attempts": 0, "connected": 0}
        channel.update(values)
        self.r.hset(f"{PREFIX}channels", name, json.dumps(channel))
        return channel

    def register_channel(self, name: str) -> None:
        """A channel starts with the events from now on (a new receiver is not flooded with history)."""
        newest = self.r.zrevrange(f"{PREFIX}outbox", 0, 0, withscores=True)
        start = int(newest[0][1]) if newest else 0
        channel = {"name": name, "delivered_id": start, "delivered_at": None, "attempts": 0, "error": None}
        self.r.hsetnx(f"{PREFIX}channels", name, json.dumps({**channel, "connected": 0}))

    def pending(self, channel: str, limit: int = 100) -> list[Event]:
        found = self._channel(channel)
        if found is None:
            return []
        rows = self.r.zrangebyscore(f"{PREFIX}outbox", f"({found['delivered_id']}", "+inf", start=0, num=limit)
        events = [json.loads(row) for row in rows]
        return [Event(e["id"], e["time"], EventType(e["type"]), e["data"]) for e in events]

    def delivered(self, channel: str, event_id: int) -> None:
        found = self._channel(channel) or {}
        done = max(int(found.get("delivered_id", 0)), event_id)
        self._set_channel(channel, delivered_id=done, delivered_at=time.time(), attempts=0, error=None)

    def delivery_failed(self, channel: str, error: str) -> int:
        """Count a failed attempt; returns the attempts so far (for back-off)."""
        found = self._channel(channel) or {}
        return int(self._set_channel(channel, attempts=int(found.get("attempts", 0)) + 1, error=error)["attempts"])

    def channel_connected(self, channel: str, connected: bool) -> None:
        self._set_channel(channel, connected=int(connected))

    def channels(self) -> list[dict[str, Any]]:
        """Each channel: connected, last delivery, backlog, last error."""
        found = [json.loads(raw) for raw in self.r.hvals(f"{PREFIX}channels")]
        for channel in found:
            channel["backlog"] = int(self.r.zcount(f"{PREFIX}outbox", f"({channel['delivered_id']}", "+inf"))
        return sorted(found, key=lambda c: c["name"])

    def events_dropped(self) -> int:
        return int(self.r.hget(f"{PREFIX}counters", "events_dropped") or 0)


class RedisOperatorLog(RedisBase):
    """What the page's log shows the operator, newest first, the newest :data:`KEPT_EVENTS` kept."""

    def tell_operator(self, kind: str, message: str) -> None:
        entry = {"id": int(self.r.incr(f"{PREFIX}events:id")), "time": time.time(), "kind": kind, "message": message}
        with self.r.pipeline() as pipe:
            pipe.lpush(f"{PREFIX}events", json.dumps(entry))
            pipe.ltrim(f"{PREFIX}events", 0, KEPT_EVENTS - 1)
            pipe.execute()

    def operator_log(self, limit: int = 20) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.r.lrange(f"{PREFIX}events", 0, limit - 1)]
