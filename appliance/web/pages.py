"""The status page, a job's page, and the retry action."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from ..service.actions import retry_failed
from .auth import bearer_ok, csrf_ok
from .context import context
from .views import job_view, parts_view, people_of, tracks_of

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> Any:
    return render_template("index.html")


@bp.get("/jobs/<int:job_id>")
def job_page(job_id: int) -> Any:
    job = context().store.get(job_id)
    if job is None:
        abort(404)
    return render_template(
        "job.html", job=job_view(job), tracks=tracks_of(job), people=people_of(job), parts=parts_view(job)
    )


@bp.post("/jobs/<int:job_id>/retry")
def retry(job_id: int) -> Any:
    if not csrf_ok():
        return jsonify(error="missing or wrong CSRF token"), 403
    ctx = context()
    result = retry_failed(ctx.store, ctx.layout, job_id)
    if not result.ok:
        return jsonify(error=result.message), result.status
    if request.accept_mimetypes.best == "application/json" or bearer_ok():
        return jsonify(ok=True, id=job_id)
    return redirect(url_for("pages.job_page", job_id=job_id))
