"""Queue backends behind :class:`~appliance.service.jobs.JobStore`: the embedded one (SQLite, the default)
and the fleet's (Redis, runs dispatched by RQ), chosen by the ``queue`` setting."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import redis

from ...settings import Settings
from ..jobs import JobStore
from ..layout import StateLayout

if TYPE_CHECKING:
    from .redis import RedisJobStore

# the queue did not answer for a moment (a locked database, a Redis restarting): try again later
QUEUE_AWAY: tuple[type[BaseException], ...] = (sqlite3.OperationalError, redis.ConnectionError, redis.TimeoutError)


def open_store(settings: Settings, layout: StateLayout) -> JobStore:
    """The job store the settings name; raises :class:`~.redis.QueueUnreachable` if Redis does not answer."""
    if settings.service.fleet:
        return open_redis(settings)
    from .sqlite import SqliteJobStore

    return SqliteJobStore(layout.database, settings.events.events_kept)


def open_redis(settings: Settings) -> RedisJobStore:
    from .redis import PathMap, RedisJobStore

    return RedisJobStore(settings.service.queue_url, PathMap.of(settings.service), settings.events.events_kept)
