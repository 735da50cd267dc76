"""Who may see the faces: the Host allow-list, the token (Bearer header or a signed-in session), CSRF
and same-origin checks on every state change, sign-in with a rate limit, security headers.

On loopback with no token set, requests from the box are trusted, but only under a loopback (or
configured) host name, so that a web page on a rebinding domain cannot read the box through a
browser on it. Off loopback every path but the health check and the sign-in page needs the token.
A session stays valid only while the token it was signed in with is the configured one, and only
until it signs out (the box keeps the live sessions: :mod:`appliance.web.sessions`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import defaultdict, deque
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, session, url_for

from .. import __version__
from ..settings import is_loopback
from .context import context

log = logging.getLogger("appliance.web")
bp = Blueprint("auth", __name__)
OPEN_PATHS = ("/healthz", "/login", "/static")
API_PREFIXES = ("/api/", "/metrics", "/files/", "/preview")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})
CSRF_BYTES = 24
LOGIN_FAILURES_ALLOWED = 5  # wrong tokens per client address within the window, then 429 until it passes
LOGIN_WINDOW_S = 60.0
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make browsers send "Origin: null" on our own forms
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'",
}


def allowed_hosts(host: str, configured: list[str]) -> frozenset[str] | None:
    """Host names the page answers to; None: any (bound to all addresses with no names configured)."""
    names = {name.strip("[]").lower() for name in configured}
    if is_loopback(host):
        return frozenset(LOOPBACK_NAMES | names | {host.strip("[]").lower()})
    if not names:
        return None
    bound = set() if host in ANY_ADDRESS else {host.strip("[]").lower()}
    return frozenset(LOOPBACK_NAMES | names | bound)


def host_name(netloc: str) -> str:
    """``example.lan:8080`` -> ``example.lan``; ``[::1]:8080`` -> ``::1``."""
    try:
        return (urlsplit("//" + netloc).hostname or "").lower()
    except ValueError:
        return ""


def token_fingerprint(token: str) -> str:
    """What a session holds instead of a flag: it proves which token signed it in."""
    key = current_app.config["SECRET_KEY"]
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def bearer_ok() -> bool:
    token = context().token
    header = request.headers.get("Authorization", "")
    return bool(token) and header.startswith("Bearer ") and _same(header[7:], token or "")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def authenticated() -> bool:
    ctx = context()
    token = ctx.token
    if not token:
        return is_loopback(ctx.settings.web.host)
    if bearer_ok():
        return True
    signed, session_id = session.get("auth"), session.get("sid")
    if not (isinstance(signed, str) and _same(signed, token_fingerprint(token)) and isinstance(session_id, str)):
        return False
    return ctx.sessions.alive(session_id)  # a copy of a signed-out cookie is refused here


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(CSRF_BYTES)
    return str(session["csrf"])


def csrf_ok() -> bool:
    """A state change carries the session's CSRF token, or comes from a script with the right token."""
    if bearer_ok():
        return True
    given = request.form.get("csrf") or request.headers.get("X-CSRF-Token", "")
    expected = session.get("csrf")
    return bool(given) and isinstance(expected, str) and _same(given, expected)


def _same_origin() -> bool:
    """Browsers say where a request comes from: a state change from another site is refused."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site not in (None, "same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":  # an origin the browser will not name: only if it says the request is ours
        return fetch_site == "same-origin"
    parts = urlsplit(origin)
    return (
        parts.netloc.lower() == request.host.lower()
        or (host_name(parts.netloc) in LOOPBACK_NAMES and host_name(request.host) in LOOPBACK_NAMES)
        or _proxied_name(origin)
    )


def _proxied_name(origin: str) -> bool:
    """Behind the TLS proxy, ``https://<an allowed_hosts name>`` is the page's own origin, even when the
    proxy rewrote ``Host`` and sent no ``X-Forwarded-Host`` (nginx's default)."""
    web = context().settings.web
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    names = {name.strip("[]").lower() for name in web.allowed_hosts}
    return web.tls_proxy and parts.scheme == "https" and port is None and host_name(parts.netloc) in names


@bp.before_app_request
def guard() -> Any:
    allowed = context().allowed_hosts
    if allowed is not None and host_name(request.host) not in allowed:
        return jsonify(error="unknown host name; add it to the allowed_hosts setting"), 400
    if request.method in STATE_CHANGING and not _same_origin():
        return jsonify(error="cross-site request refused"), 403
    if any(request.path == p or request.path.startswith(p + "/") for p in OPEN_PATHS):
        return None
    if authenticated():
        return None
    if request.path.startswith(API_PREFIXES):
        return jsonify(error="authentication required"), 401
    return redirect(url_for("auth.login", next=request.path))


@bp.after_app_request
def headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.app_context_processor
def inject() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "version": __version__, "auth_required": bool(context().token)}


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a local path only (no scheme, no host, no backslash, no control characters)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


class LoginLimiter:
    """Failed sign-ins per client address in a sliding window."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked_for(self, address: str) -> float:
        now = time.monotonic()
        failures = self._failures[address]
        while failures and now - failures[0] > LOGIN_WINDOW_S:
            failures.popleft()
        if len(failures) < LOGIN_FAILURES_ALLOWED:
            return 0.0
        return LOGIN_WINDOW_S - (now - failures[0])

    def failed(self, address: str) -> None:
        self._failures[address].append(time.monotonic())


@bp.get("/login")
def login() -> Any:
    return render_template("login.html", error=None)


@bp.post("/login")
def login_post() -> Any:
    ctx = context()
    address = request.remote_addr or "?"
    wait = ctx.login_limiter.blocked_for(address)
    if wait > 0:
        response = jsonify(error="too many wrong tokens; wait and try again")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response, 429
    token = ctx.token
    if token and _same(request.form.get("token", ""), token):
        session.clear()
        session["auth"] = token_fingerprint(token)
        session["sid"] = ctx.sessions.begin()
        return redirect(safe_next(request.args.get("next")))
    ctx.login_limiter.failed(address)
    log.warning("failed sign-in from %s", address)
    return render_template("login.html", error="Wrong token."), 403


@bp.post("/logout")
def logout() -> Any:
    if not csrf_ok():
        abort(403)
    session_id = session.get("sid")
    if isinstance(session_id, str):
        context().sessions.end(session_id)  # the box forgets it: copies of the cookie die too
    session.clear()
    return redirect(url_for("auth.login"))
