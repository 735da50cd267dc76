"""Queue backends behind :class:`~appliance.service.store.JobStore`: the embedded one (SQLite, the default)
and the fleet's (Redis, runs dispatched by RQ), chosen by the ``queue`` setting."""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import redis

from ...settings import Settings
from ...settings.model import has_password, open_queue
from ..layout import StateLayout

if TYPE_CHECKING:
    from .redis import RedisJobStore
    from .sqlite import SqliteJobStore

log = logging.getLogger("appliance.queue")

# the queue did not answer for a moment (a locked database, a Redis restarting): try again later
QUEUE_AWAY: tuple[type[BaseException], ...] = (sqlite3.OperationalError, redis.ConnectionError, redis.TimeoutError)


def open_sqlite(settings: Settings, layout: StateLayout) -> SqliteJobStore:
    """The embedded store in the state folder."""
    from .sqlite import SqliteJobStore

    return SqliteJobStore(layout.database, settings.events.events_kept)


def open_redis(settings: Settings) -> RedisJobStore:
    from .redis import RedisJobStore
    from .redis_records import PathMap

    warn_if_open(settings)
    return RedisJobStore(settings.service.queue_url, PathMap.of(settings.service), settings.events.events_kept)


def warn_if_open(settings: Settings) -> None:
    """Say it loudly, at every start, when the fleet's Redis takes anyone: its writers choose the work done."""
    from .redis_connect import redacted

    url = settings.service.queue_url
    problem = open_queue(url)
    if problem:  # only with allow_insecure_queue: the settings refuse it otherwise
        log.warning(
            "INSECURE QUEUE (allow_insecure_queue): %s (%s); anyone who reaches it can queue work for every "
            "worker, read file names and stop the fleet. Set a password.",
            problem,
            redacted(url),
        )
    elif not has_password(url) and urlsplit(url).scheme != "unix":
        log.warning(
            "the job queue at %s has no password: any process on this box can queue work for its workers; "
            "set one (requirepass) unless this box is yours alone",
            redacted(url),
        )
