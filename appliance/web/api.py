"""The JSON API: the queue, the current jobs with live progress, recent jobs and the people they found."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for

from .. import __version__
from ..service.jobs import JobState
from .context import context
from .views import job_view, parts_view, people_of, tracks_of, workers_view

bp = Blueprint("api", __name__, url_prefix="/api")
GALLERY_PEOPLE = 24  # the newest people (a crop each) on the status page
GALLERY_JOBS = 12  # ... taken from this many of the newest finished jobs
STATUS_JOBS = 15
STATUS_EVENTS = 10
JOBS_DEFAULT_LIMIT = 100
JOBS_MAX_LIMIT = 1000


def _gallery() -> list[dict[str, Any]]:
    gallery: list[dict[str, Any]] = []
    for job in context().store.recent(limit=GALLERY_JOBS, state=JobState.DONE):
        for person in people_of(job):
            gallery.append(
                {
                    "job": job.id,
                    "name": job.name,
                    "person": person["id"],
                    "url": person["url"],
                    "time_s": person["best"]["time_s"],
                    "quality": person["best"]["quality"],
                }
            )
            if len(gallery) >= GALLERY_PEOPLE:
                return gallery
    return gallery


@bp.get("/workers")
def workers() -> Any:
    """Every worker that said it is alive lately, on this box and (in a fleet) the others."""
    return jsonify(workers=workers_view())


@bp.get("/status")
def status() -> Any:
    ctx = context()
    found = ctx.health()
    current = [job_view(j) for j in ctx.store.processing()]
    for item in current:
        item["preview"] = url_for("files.preview", job_id=item["id"])
    return jsonify(
        version=__version__,
        queue={state.value: n for state, n in ctx.store.counts().items()},
        current=current,
        workers={"configured": ctx.settings.service.workers, "alive": found.workers_alive, "list": workers_view()},
        health=found.to_dict(),
        jobs=[job_view(j) for j in ctx.store.recent(limit=STATUS_JOBS)],
        gallery=_gallery(),
        events=ctx.store.operator_log(STATUS_EVENTS),
        channels=ctx.store.channels(),
        totals=ctx.store.totals(),
    )


@bp.get("/jobs")
def jobs() -> Any:
    raw_state = request.args.get("state")
    try:
        state = JobState(raw_state) if raw_state else None
    except ValueError:
        return jsonify(error=f"unknown state {raw_state!r}; one of {', '.join(s.value for s in JobState)}"), 400
    limit = max(1, min(request.args.get("limit", JOBS_DEFAULT_LIMIT, type=int), JOBS_MAX_LIMIT))
    return jsonify(jobs=[job_view(j) for j in context().store.recent(limit=limit, state=state)])


@bp.get("/jobs/<int:job_id>")
def job(job_id: int) -> Any:
    found = context().store.get(job_id)
    if found is None:
        return jsonify(error="no such job"), 404
    view = {**job_view(found), "tracks": tracks_of(found), "people": people_of(found), "parts": parts_view(found)}
    return jsonify(view)
