"""A job's outcome recorded: done or failed, with the events it causes written in the same transaction
(``recording.done``, ``person.seen``, ``recording.failed``), and a failed part failing its whole recording."""

from __future__ import annotations

import logging
from pathlib import Path

from ..events import model
from ..events.model import NewEvent
from ..output.manifest import Manifest, read_manifest
from ..people.index import PeopleIndex, Seen
from ..people.recordings import index_result
from ..settings import EventsSettings
from .footage import move_no_clobber, write_reason
from .jobs import Job, JobKind, JobState
from .layout import StateLayout
from .store import JobStore

log = logging.getLogger("appliance.service")


def done_events(
    job: Job, output: Path, manifest: Manifest | None, seen: dict[int, Seen], settings: EventsSettings
) -> list[NewEvent]:
    """``recording.done``, and ``person.seen`` for the people the settings ask for."""
    link = f"/jobs/{job.id}"
    if manifest is None:
        return [model.recording_done(job.id, job.name, output.name, 0, 0, 0.0, link)]
    events = [
        model.recording_done(
            job.id, job.name, output.name, len(manifest.tracks), len(manifest.people), manifest.source.duration_s, link
        )
    ]
    for person in manifest.people:
        who = seen.get(person.id)
        if who is None or not _wanted(who, settings):
            continue
        crop = f"{output.name}/{person.best.file}"
        events.append(
            model.person_seen(
                who.person,
                who.name,
                who.new,
                who.watched,
                job.id,
                job.name,
                person.best.time_s,
                f"/files/{crop}",
                f"/people/{who.person}",
            )
        )
        events[-1].data["crop"] = crop
    return events


def _wanted(who: Seen, settings: EventsSettings) -> bool:
    return {"all": True, "new": who.new, "watched": who.watched, "off": False}[settings.person_events]


def failed_events(job: Job, reason: str) -> list[NewEvent]:
    return [model.recording_failed(job.id, job.name, reason, f"/jobs/{job.id}")]


def record_done(
    store: JobStore,
    people: PeopleIndex | None,
    settings: EventsSettings,
    job: Job,
    footage: Path,
    output: Path,
    frames: int = 0,
    people_pending: bool = False,
) -> None:
    """A job done: its people indexed, then the job marked done with the events it causes, in one transaction.

    Indexing twice is harmless (a recording is indexed once), so a crash between the two is put right by
    recovery, which calls this again. ``people_pending``: the index is not this process's to write (a
    worker of a fleet); the ingest box indexes the result and tells who was seen (:func:`index_pending`).
    """
    manifest = read_manifest(output)
    seen: dict[int, Seen] = {}
    if people is not None:
        seen = _index(people, job, output)
    tracks = len(manifest.tracks) if manifest else 0
    frames = frames or (manifest.stats.frames_analysed if manifest else 0)
    events = done_events(job, output, manifest, seen, settings)
    store.finish(job.id, str(footage), str(output), tracks, frames, events, people_pending, job.lease)


def _index(people: PeopleIndex, job: Job, output: Path) -> dict[int, Seen]:
    try:
        return index_result(people, output, job.id)
    except Exception:  # noqa: BLE001 - the results are published and kept; the index can be rebuilt
        log.exception("job %d: its people could not be indexed", job.id)
        return {}


def index_pending(store: JobStore, people: PeopleIndex, settings: EventsSettings) -> int:
    """Results the fleet's workers published, into the people index; ``person.seen`` told. Returns how many."""
    done = 0
    for job in store.people_pending():
        output = Path(job.output or "")
        manifest = read_manifest(output) if job.output else None
        seen = _index(people, job, output) if manifest is not None else {}
        events = done_events(job, output, manifest, seen, settings)[1:] if manifest is not None else []
        store.people_indexed(job.id, events)
        done += 1
    return done


def record_failed(store: JobStore, job: Job, footage: Path, reason: str) -> None:
    store.fail(job.id, str(footage), reason, failed_events(job, reason), lease=job.lease)


def fail_recording(store: JobStore, layout: StateLayout, job: Job, footage: Path, reason: str) -> None:
    """The footage to ``failed/`` with its reason, its recording failed (a part or merge fails the whole)."""
    moved = move_no_clobber(footage, layout.failed) if footage.exists() else footage
    if moved.exists():
        write_reason(moved, reason)
    if job.kind is JobKind.RECORDING:
        record_failed(store, job, moved, reason)
        return
    recording = store.get(job.parent) if job.parent is not None else None
    store.cancel_parts(job.parent or job.id, f"{job.kind} {job.part or ''} failed: {reason}".replace("  ", " "))
    if recording is not None and recording.state not in (JobState.DONE, JobState.FAILED):
        record_failed(store, recording, moved, reason)
