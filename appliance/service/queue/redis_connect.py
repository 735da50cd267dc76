"""Reaching the fleet's Redis: a client that rides out a restart, and the URL said without its password."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

RETRIES = 30  # a Redis that restarts is waited for: commands are retried with back-off up to ~1 minute
BACKOFF_CAP_S = 2.0
CONNECT_TIMEOUT_S = 5.0
CONNECT_TRIES = 3  # at start-up, one second apart


class QueueUnreachable(Exception):
    """The Redis named by the ``queue`` setting does not answer (said with the URL, its password hidden)."""


def redacted(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(url: str) -> redis.Redis:
    """A client that rides out a Redis restart (commands retried with back-off); raises :class:`QueueUnreachable`
    at once if the queue does not answer now (a few quick tries: the operator should hear of it, not wait)."""
    probe = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, retry=Retry(NoBackoff(), 0))
    for attempt in range(CONNECT_TRIES):
        try:
            probe.ping()
            break
        except redis.AuthenticationError as exc:
            raise QueueUnreachable(f"the job queue at {redacted(url)} refused the password: {exc}") from None
        except redis.RedisError as exc:
            if attempt == CONNECT_TRIES - 1:
                raise QueueUnreachable(f"the job queue at {redacted(url)} does not answer: {exc}") from None
            time.sleep(1.0)
        finally:
            probe.close()
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        retry=Retry(ExponentialBackoff(cap=BACKOFF_CAP_S, base=0.1), RETRIES),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
    )
