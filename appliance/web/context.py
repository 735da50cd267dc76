"""What the page's routes share: the settings, the job store, where results live, the service's health."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import current_app
from prometheus_client import CollectorRegistry

from ..people.index import PeopleIndex
from ..service import health
from ..service.health import Health
from ..service.layout import StateLayout
from ..service.searcher import PhotoFace
from ..service.store import JobStore
from ..settings import Settings
from .sessions import SessionStore


class ServiceView(Protocol):
    """What the page asks of the running service (absent when the page is served alone, in tests)."""

    def health(self) -> Health: ...

    def search_photo(self, data: bytes) -> list[PhotoFace]: ...


@dataclass(frozen=True)
class WebContext:
    settings: Settings
    store: JobStore
    layout: StateLayout
    service: ServiceView | None
    registry: CollectorRegistry
    allowed_hosts: frozenset[str] | None  # None: any
    login_limiter: Any
    people: PeopleIndex | None  # None: the people feature is off
    sessions: SessionStore

    @property
    def outbox(self) -> Path:
        return self.settings.service.outbox_dir

    @property
    def token(self) -> str | None:
        token = self.settings.web.token
        return token.get_secret_value() if token is not None else None

    def health(self) -> Health:
        if self.service is not None:
            return self.service.health()
        folders = {"outbox": self.outbox, "state": self.layout.root}
        return health.check(self.store, self.settings.service.workers, self.settings.service.stall_timeout_s, folders)


EXTENSION = "appliance"


def context() -> WebContext:
    found: WebContext = current_app.extensions[EXTENSION]
    return found
