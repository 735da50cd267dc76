"""The status page and its JSON API, metrics and health check (Flask blueprints, served by waitress).

The page reads the job store and the published results; it never runs a net. Blueprints: ``auth``
(token, sessions, CSRF, headers), ``pages``, ``api``, ``files`` (results and previews), ``metrics``.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from flask import Flask

from ..cases.jobs import CaseJobs
from ..people.index import PeopleIndex
from ..service.layout import StateLayout
from ..service.store import JobStore
from ..settings import Settings
from . import api, auth, cases, files, metrics, pages, people
from .context import EXTENSION, ServiceView, WebContext
from .sessions import SessionStore

MAX_REQUEST_BYTES = 9 << 20  # a photo to search with is the largest thing posted (8 MB)
SESSIONS_FILE = "sessions.sqlite"  # in the state folder, next to the key that signs the cookies


class KeyedService(ServiceView, Protocol):
    def secret_key(self) -> bytes: ...


def people_index(settings: Settings, service: object) -> PeopleIndex | None:
    """The service's people index, or one of the state folder's (the page alone, in tests)."""
    if not settings.people.enabled:
        return None
    found = getattr(service, "people", None)
    if isinstance(found, PeopleIndex):
        return found
    return PeopleIndex(StateLayout(settings.service.state_dir).people_database, settings.people.threshold)


def create_app(
    settings: Settings,
    store: JobStore,
    service: KeyedService | None = None,
    secret_key: bytes | None = None,
    exports: CaseJobs | None = None,
) -> Flask:
    """The page over ``store``; sessions are signed with ``secret_key``, the service's, or a fresh one;
    ``exports``: where the export button's cases run (None: the page offers none)."""
    app = Flask(__name__)
    web = settings.web
    app.config.update(
        SECRET_KEY=secret_key or (service.secret_key() if service is not None else secrets.token_bytes(32)),
        SESSION_COOKIE_NAME="__Host-appliance" if web.tls_proxy else "appliance_session",
        SESSION_COOKIE_SECURE=web.tls_proxy,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    layout = StateLayout(settings.service.state_dir)
    app.extensions[EXTENSION] = WebContext(
        settings,
        store,
        layout,
        service,
        metrics.registry_for(store),
        auth.allowed_hosts(web.host, web.allowed_hosts),
        auth.LoginLimiter(),
        people_index(settings, service),
        SessionStore(layout.root / SESSIONS_FILE),
    )
    if exports is not None:
        app.extensions[cases.EXTENSION] = exports
    for blueprint in (auth.bp, pages.bp, api.bp, files.bp, metrics.bp, people.bp, cases.bp):
        app.register_blueprint(blueprint)
    return app
