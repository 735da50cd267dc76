"""Jobs, their tracks and their people as the page and the API show them (no footage paths: the box's business)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import url_for

from ..output.manifest import Manifest, PersonRecord, TrackRecord, read_manifest
from ..service.jobs import Job
from .context import context


def job_view(job: Job) -> dict[str, Any]:
    data = job.to_dict()
    data.pop("path", None)
    data["output"] = Path(job.output).name if job.output else None
    return data


STALLED_AFTER_S = 30.0  # a worker silent this long is shown as stalled (it is dropped after a minute)


def workers_view() -> list[dict[str, Any]]:
    """The workers: host, current job and its progress, seconds since their last heartbeat."""
    store = context().store
    now = time.time()
    found = []
    for beat in store.workers():
        job = store.get(beat.job) if beat.job is not None else None
        silent = now - beat.seen
        state = "stalled" if silent > STALLED_AFTER_S else ("busy" if job is not None else "idle")
        found.append(
            {
                **beat.to_dict(),
                "state": state,
                "heartbeat_age_s": round(silent, 1),
                "job_name": job.name if job else None,
                "progress": job.progress if job else None,
            }
        )
    return found


def parts_view(job: Job) -> list[dict[str, Any]]:
    """A split recording's parts and merge, for its page."""
    return [job_view(part) for part in context().store.parts_of(job.id)] if job.parts else []


def tracks_of(job: Job) -> list[dict[str, Any]]:
    """The job's tracks from its manifest, each with the URL of its best shot."""
    manifest = _manifest_of(job)
    return _with_urls(job, manifest.tracks) if manifest else []


def people_of(job: Job) -> list[dict[str, Any]]:
    """The job's people from its manifest (one crop each), with the URL of that crop."""
    manifest = _manifest_of(job)
    return _with_urls(job, manifest.people) if manifest else []


def _manifest_of(job: Job) -> Manifest | None:
    return read_manifest(Path(job.output)) if job.output else None


def _with_urls(job: Job, records: Sequence[TrackRecord] | Sequence[PersonRecord]) -> list[dict[str, Any]]:
    """Records as JSON, each with the URL of its best shot in the job's result folder."""
    folder = Path(job.output or "").name
    return [
        {**record.model_dump(mode="json"), "url": url_for("files.result_file", relative=f"{folder}/{record.best.file}")}
        for record in records
    ]
