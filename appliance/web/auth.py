"""Who may see the faces: the token (Bearer header or a signed-in session), CSRF, security headers.

On loopback with no token set, every request is trusted; everywhere else every path but the
health check and the sign-in page needs the token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, session, url_for

from .. import __version__
from ..settings import is_loopback
from .context import context

bp = Blueprint("auth", __name__)
OPEN_PATHS = ("/healthz", "/login", "/static")
API_PREFIXES = ("/api/", "/metrics", "/files/", "/preview")
CSRF_BYTES = 24
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'",
}


def authenticated() -> bool:
    ctx = context()
    token = ctx.token
    if not token:
        return is_loopback(ctx.settings.web.host)
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    return session.get("auth") is True


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(CSRF_BYTES)
    return str(session["csrf"])


def csrf_ok() -> bool:
    """A state-changing request carries the session's CSRF token, or comes from a script with the token."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return True
    given = request.form.get("csrf") or request.headers.get("X-CSRF-Token", "")
    return bool(given) and hmac.compare_digest(given, session.get("csrf", ""))


@bp.before_app_request
def guard() -> Any:
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


@bp.get("/login")
def login() -> Any:
    return render_template("login.html", error=None)


@bp.post("/login")
def login_post() -> Any:
    token = context().token
    given = request.form.get("token", "")
    if token and hmac.compare_digest(given.encode(), token.encode()):
        session.clear()
        session["auth"] = True
        target = request.args.get("next", "/")
        return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
    return render_template("login.html", error="Wrong token."), 403
