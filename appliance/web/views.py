"""Jobs and their faces as the page and the API show them (no footage paths: those are the box's business)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import url_for

from ..output.manifest import read_manifest
from ..service.jobs import Job


def job_view(job: Job) -> dict[str, Any]:
    data = job.to_dict()
    data.pop("path", None)
    data["output"] = Path(job.output).name if job.output else None
    return data


def tracks_of(job: Job) -> list[dict[str, Any]]:
    """The job's tracks from its manifest, each with the URL of its best shot."""
    manifest = read_manifest(Path(job.output)) if job.output else None
    if manifest is None or job.output is None:
        return []
    folder = Path(job.output).name
    return [
        {**track.model_dump(mode="json"), "url": url_for("files.result_file", relative=f"{folder}/{track.best.file}")}
        for track in manifest.tracks
    ]


def people_of(job: Job) -> list[dict[str, Any]]:
    """The job's people from its manifest (one crop each), with the URL of that crop."""
    manifest = read_manifest(Path(job.output)) if job.output else None
    if manifest is None or job.output is None:
        return []
    folder = Path(job.output).name
    return [
        {**person.model_dump(mode="json"), "url": url_for("files.result_file", relative=f"{folder}/{person.best.file}")}
        for person in manifest.people
    ]
