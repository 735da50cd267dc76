"""A person's case from the page: the export button starts it, the page follows its progress, and the
zip is handed out when it is done.

The export runs in a process of its own (:mod:`appliance.cases.jobs`), never in the page's thread:
the running service's when there is one, else one the page starts beside itself. A blueprint of its
own, guarded as every page is (the sign-in check runs before every request of the app).
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, request, send_file, url_for

from ..cases.jobs import CaseJob, CaseJobs, ExportBusy
from ..cases.redact import Redact
from .people import _checked, _index

bp = Blueprint("cases", __name__)

EXTENSION = "appliance.cases"
MAX_PAD_S = 30.0


def case_jobs() -> CaseJobs | None:
    """The exports of the running appliance, handed to the page by the composition root (``appliance.app``):
    the page never starts a process that runs nets. None: the page alone (no service), which exports nothing."""
    found = current_app.extensions.get(EXTENSION)
    return found if isinstance(found, CaseJobs) else None


def _status(job: CaseJob) -> dict[str, Any]:
    status = job.status()
    if status.get("state") == "done" and job.zip.is_file():
        status["download"] = url_for("cases.case_zip", job_id=job.id)
    return status


@bp.post("/people/<int:person>/export")
def export_person(person: int) -> Any:
    _checked()
    if _index().person(person) is None:
        abort(404)
    try:
        redact = Redact(request.form.get("redact", "others"))
        pad_s = float(request.form.get("pad_s", 2.0))
        if not math.isfinite(pad_s):  # min/max let nan through, and inf would take whole recordings
            raise ValueError(pad_s)
        pad_s = min(max(pad_s, 0.0), MAX_PAD_S)
    except ValueError:
        return jsonify(error="redact is others, all or none; pad_s a number of seconds"), 400
    jobs = case_jobs()
    if jobs is None:
        return jsonify(error="exports run with the service (appliance serve); this page has none"), 503
    try:
        job = jobs.start((person,), redact, pad_s)
    except ExportBusy as exc:
        return jsonify(error=str(exc)), 409
    if request.accept_mimetypes.best == "application/json":
        return jsonify(job=job.id, status=url_for("cases.case_status", job_id=job.id)), 202
    return redirect(url_for("people.person_page", person=person, case=job.id))


@bp.get("/api/cases/<job_id>")
def case_status(job_id: str) -> Any:
    jobs = case_jobs()
    job = jobs.get(job_id) if jobs is not None else None
    if job is None:
        return jsonify(error="no such export"), 404
    return jsonify(_status(job))


@bp.get("/cases/<job_id>/case.zip")
def case_zip(job_id: str) -> Any:
    jobs = case_jobs()
    job = jobs.get(job_id) if jobs is not None else None
    if job is None or not job.zip.is_file():
        abort(404)
    return send_file(job.zip, mimetype="application/zip", as_attachment=True, download_name=f"case-{job.id}.zip")
