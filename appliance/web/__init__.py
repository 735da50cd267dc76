"""The status page and its JSON API, metrics and health check (Flask blueprints, served by waitress).

The page reads the job store and the published results; it never runs a net. Blueprints: ``auth``
(token, sessions, CSRF, headers), ``pages``, ``api``, ``files`` (results and previews), ``metrics``.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from flask import Flask

from ..service.jobs import JobStore
from ..service.layout import StateLayout
from ..settings import Settings
from . import api, auth, files, metrics, pages
from .context import EXTENSION, ServiceView, WebContext

MAX_REQUEST_BYTES = 64 * 1024  # forms only: nothing large is ever posted


class KeyedService(ServiceView, Protocol):
    def secret_key(self) -> bytes: ...


def create_app(settings: Settings, store: JobStore, service: KeyedService | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=service.secret_key() if service is not None else secrets.token_bytes(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    layout = StateLayout(settings.service.state_dir)
    app.extensions[EXTENSION] = WebContext(settings, store, layout, service, metrics.registry_for(store))
    for blueprint in (auth.bp, pages.bp, api.bp, files.bp, metrics.bp):
        app.register_blueprint(blueprint)
    return app
