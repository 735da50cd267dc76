"""The status page and its JSON API, metrics and health check (Flask, served by waitress)."""

from __future__ import annotations

import hmac
import json
import secrets
from pathlib import Path

from flask import (
    Flask,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .. import __version__
from ..config import Settings, is_loopback
from ..footage import move_no_clobber
from ..jobs import STATES, Job

OPEN_PATHS = {"/healthz", "/login", "/static"}


def safe_outbox_path(outbox: Path, relative: str) -> Path | None:
    """``outbox/relative`` if it is a file inside the outbox, reached without ``..`` or symlinks."""
    if not relative or relative.startswith(("/", "\\")) or "\x00" in relative:
        return None
    parts = Path(relative).parts
    if any(p in ("..", "") or p.startswith(".") for p in parts):
        return None
    root = outbox.resolve()
    candidate = root.joinpath(*parts)
    cursor = root
    for part in parts:
        cursor = cursor / part
        if cursor.is_symlink():
            return None
    if not candidate.is_file() or not candidate.resolve().is_relative_to(root):
        return None
    return candidate


class QueueCollector:
    """Prometheus metrics read from the job store at scrape time."""

    def __init__(self, store) -> None:
        self.store = store

    def collect(self):
        counts = self.store.counts()
        by_state = GaugeMetricFamily("appliance_jobs", "Jobs by state", labels=["state"])
        for state in STATES:
            by_state.add_metric([state], counts[state])
        yield by_state
        yield GaugeMetricFamily("appliance_queue_depth", "Jobs waiting or running",
                                value=counts["queued"] + counts["processing"])  # fmt: skip
        totals = self.store.totals()
        yield CounterMetricFamily("appliance_frames_analysed", "Frames analysed by finished jobs",
                                  value=totals["frames_analysed"])  # fmt: skip
        yield CounterMetricFamily("appliance_faces_found", "Distinct faces (tracks) found", value=totals["faces"])
        yield CounterMetricFamily("appliance_processing_seconds", "Wall time spent on finished jobs",
                                  value=totals["processing_seconds"])  # fmt: skip


def create_app(settings: Settings, store, service=None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=service.secret_key() if service is not None else secrets.token_bytes(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    outbox = settings.outbox_dir
    token = settings.token
    registry = CollectorRegistry()
    registry.register(QueueCollector(store))

    def authenticated() -> bool:
        if not token:
            return is_loopback(settings.host)
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
            return True
        return session.get("auth") is True

    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(24)
        return session["csrf"]

    @app.before_request
    def guard():
        if any(request.path == p or request.path.startswith(p + "/") for p in OPEN_PATHS):
            return None
        if authenticated():
            return None
        if request.path.startswith(("/api/", "/metrics", "/files/", "/preview")):
            return jsonify(error="authentication required"), 401
        return redirect(url_for("login", next=request.path))

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'"
        )
        return response

    @app.context_processor
    def inject():
        return {"csrf_token": csrf_token, "version": __version__, "auth_required": bool(token)}

    # -- pages -----------------------------------------------------------------------------
    @app.get("/login")
    def login():
        return render_template("login.html", error=None)

    @app.post("/login")
    def login_post():
        given = request.form.get("token", "")
        if token and hmac.compare_digest(given.encode(), token.encode()):
            session.clear()
            session["auth"] = True
            target = request.args.get("next", "/")
            return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
        return render_template("login.html", error="Wrong token."), 403

    @app.get("/")
    def index():
        return render_template("index.html")

    @app.get("/jobs/<int:job_id>")
    def job_page(job_id: int):
        job = store.get(job_id)
        if job is None:
            abort(404)
        return render_template("job.html", job=job_view(job), tracks=tracks_of(job))

    @app.post("/jobs/<int:job_id>/retry")
    def retry(job_id: int):
        bearer = request.headers.get("Authorization", "").startswith("Bearer ")
        given = request.form.get("csrf") or request.headers.get("X-CSRF-Token", "")
        if not bearer and not (given and hmac.compare_digest(given, session.get("csrf", ""))):
            return jsonify(error="missing or wrong CSRF token"), 403
        job = store.get(job_id)
        if job is None:
            abort(404)
        if job.state != "failed":
            return jsonify(error=f"job {job_id} is {job.state}, not failed"), 409
        footage = Path(job.path)
        if not footage.exists():
            return jsonify(error="the footage is no longer there"), 409
        moved = move_no_clobber(footage, settings.state_dir / "processing")
        reason = footage.with_name(footage.name + ".error.txt")
        if reason.exists():
            reason.rename(reason.with_name(f".{reason.name}.retried"))
        store.retry(job_id, str(moved))
        store.event("retry", f"job {job_id} ({job.name}) queued again")
        if request.accept_mimetypes.best == "application/json" or bearer:
            return jsonify(ok=True, id=job_id)
        return redirect(url_for("job_page", job_id=job_id))

    # -- API -------------------------------------------------------------------------------
    def job_view(job: Job) -> dict:
        data = job.to_dict()
        data.pop("path", None)  # where footage lies on the box is not the page's business
        data["output"] = Path(job.output).name if job.output else None
        return data

    def tracks_of(job: Job) -> list[dict]:
        if not job.output:
            return []
        manifest = Path(job.output) / "manifest.json"
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            return []
        folder = Path(job.output).name
        tracks = []
        for track in data.get("tracks", []):
            best = track["best"]
            tracks.append({**track, "url": url_for("files", relative=f"{folder}/{best['file']}")})
        return tracks

    @app.get("/api/status")
    def status():
        current = [job_view(j) for j in store.processing()]
        for item in current:
            if item.get("worker"):
                item["preview"] = url_for("preview", worker=item["worker"])
        recent_done = store.list(limit=12, state="done")
        gallery = []
        for job in recent_done:
            for track in tracks_of(job):
                best = track["best"]
                gallery.append(
                    {"job": job.id, "name": job.name, "track": track["id"], "url": track["url"],
                     "time_s": best["time_s"], "confidence": best["confidence"]}
                )  # fmt: skip
                if len(gallery) >= 24:
                    break
            if len(gallery) >= 24:
                break
        return jsonify(
            version=__version__,
            queue=store.counts(),
            current=current,
            workers={"configured": settings.workers, "alive": service.workers_alive() if service else None},
            jobs=[job_view(j) for j in store.list(limit=15)],
            gallery=gallery,
            events=store.events(10),
            totals=store.totals(),
        )

    @app.get("/api/jobs")
    def jobs():
        state = request.args.get("state")
        limit = min(request.args.get("limit", 100, type=int), 1000)
        return jsonify(jobs=[job_view(j) for j in store.list(limit=limit, state=state)])

    @app.get("/api/jobs/<int:job_id>")
    def job_api(job_id: int):
        job = store.get(job_id)
        if job is None:
            return jsonify(error="no such job"), 404
        return jsonify({**job_view(job), "tracks": tracks_of(job)})

    @app.get("/files/<path:relative>")
    def files(relative: str):
        path = safe_outbox_path(outbox, relative)
        if path is None:
            abort(404)
        return send_file(path, as_attachment=path.suffix in {".csv", ".json"} and "download" in request.args)

    @app.get("/preview/<int:worker>.jpg")
    def preview(worker: int):
        path = settings.state_dir / "preview" / f"worker-{worker}.jpg"
        if not path.is_file():
            abort(404)
        response = send_file(path, mimetype="image/jpeg", max_age=0)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz():
        alive = service.workers_alive() if service else settings.workers
        ok = alive > 0
        return jsonify(status="ok" if ok else "degraded", workers_alive=alive), (200 if ok else 503)

    return app
