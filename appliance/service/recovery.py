"""Putting jobs right after a crash, a hung or killed worker, or a power cut.

Each input gets exactly one output: a job whose result was published before the interruption is
marked done from it; one whose footage is gone fails saying so; one that has had
:data:`~appliance.service.jobs.MAX_ATTEMPTS` fails with the reason; the others run again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..output.manifest import read_manifest
from ..people.index import PeopleIndex
from ..settings import EventsSettings
from .footage import move_no_clobber
from .jobs import MAX_ATTEMPTS, Job, JobKind, JobState
from .layout import StateLayout
from .outcome import fail_recording, record_done
from .queue import lifecycle
from .store import JobStore

log = logging.getLogger("appliance.service")


class Recovery:
    def __init__(
        self,
        store: JobStore,
        layout: StateLayout,
        outbox: Path,
        people: PeopleIndex | None = None,
        events: EventsSettings | None = None,
        people_enabled: bool = False,
    ) -> None:
        """``people``: the index, where this process writes it; else with ``people_enabled`` results are left
        for the ingest box to index."""
        self.events = events or EventsSettings()
        self.store = store
        self.layout = layout
        self.outbox = outbox
        self.people = people
        self.people_pending = people is None and people_enabled

    def job(self, job: Job, cause: str = "the worker crashed") -> None:
        """``job`` was processing when its worker went away (``cause`` says how, for the reason)."""
        if self._published(job):
            return
        footage = Path(job.path)
        if not footage.exists():
            fail_recording(self.store, self.layout, job, footage, "footage missing after an interruption")
            log.error("job %d: footage %s is missing", job.id, footage)
        elif not lifecycle.attempts_left(job):
            reason = f"given up after {job.attempts} attempts: {cause}"
            fail_recording(self.store, self.layout, job, footage, reason)
            self.store.tell_operator("failed", f"job {job.id} ({job.name}) {reason}")
            log.error("job %d failed: %s", job.id, reason)
        else:
            self.store.requeue(job.id, error=cause)
            log.info("job %d re-queued (attempt %d of %d): %s: %s", job.id, job.attempts, MAX_ATTEMPTS, cause, job.name)

    def _published(self, job: Job) -> bool:
        """A recording (or a split one's merge) whose result was published before the interruption: done."""
        recording = job if job.kind is JobKind.RECORDING else None
        if job.kind is JobKind.MERGE and job.parent is not None:
            recording = self.store.get(job.parent)
        if recording is None:
            return False
        output = published_output(self.store, self.outbox, recording.sha256)
        if output is None:
            return False
        footage = Path(job.path)
        kept = move_no_clobber(footage, self.layout.done) if footage.exists() else footage
        if recording.state is not JobState.DONE:
            record_done(self.store, self.people, self.events, recording, kept, output, 0, self.people_pending)
        if job is not recording:
            self.store.finish(job.id, str(kept), str(output), 0)
        log.info("job %d: result %s was published before the interruption; marked done", recording.id, output)
        return True


def published_output(store: JobStore, outbox: Path, sha256: str) -> Path | None:
    """A result for this content that no finished job owns (published, then interrupted)."""
    owned = store.outputs()
    for folder in sorted(outbox.iterdir()):
        if folder.name.startswith(".") or str(folder) in owned:
            continue
        manifest = read_manifest(folder)
        if manifest is not None and manifest.source.sha256 == sha256:
            return folder
    return None
