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
from .footage import move_no_clobber, write_reason
from .jobs import MAX_ATTEMPTS, Job, JobStore
from .layout import StateLayout
from .notify import record_done, record_failed

log = logging.getLogger("appliance.service")


class Recovery:
    def __init__(
        self,
        store: JobStore,
        layout: StateLayout,
        outbox: Path,
        people: PeopleIndex | None = None,
        events: EventsSettings | None = None,
    ) -> None:
        self.events = events or EventsSettings()
        self.store = store
        self.layout = layout
        self.outbox = outbox
        self.people = people

    def job(self, job: Job, cause: str = "the worker crashed") -> None:
        """``job`` was processing when its worker went away (``cause`` says how, for the reason)."""
        output = self._published_output(job)
        footage = Path(job.path)
        if output is not None:
            kept = move_no_clobber(footage, self.layout.done) if footage.exists() else footage
            record_done(self.store, self.people, self.events, job, kept, output)
            log.info("job %d: result %s was published before the interruption; marked done", job.id, output)
        elif not footage.exists():
            record_failed(self.store, job, footage, "footage missing after an interruption")
            log.error("job %d: footage %s is missing", job.id, footage)
        elif job.attempts >= MAX_ATTEMPTS:
            reason = f"given up after {job.attempts} attempts: {cause}"
            moved = move_no_clobber(footage, self.layout.failed)
            write_reason(moved, reason)
            record_failed(self.store, job, moved, reason)
            self.store.event("failed", f"job {job.id} ({job.name}) {reason}")
            log.error("job %d failed: %s", job.id, reason)
        else:
            self.store.requeue(job.id)
            log.info("job %d re-queued (attempt %d of %d): %s: %s", job.id, job.attempts, MAX_ATTEMPTS, cause, job.name)

    def _published_output(self, job: Job) -> Path | None:
        """A result for this job's content that no finished job owns (published, then crashed)."""
        owned = self.store.outputs()
        for folder in sorted(self.outbox.iterdir()):
            if folder.name.startswith(".") or str(folder) in owned:
                continue
            manifest = read_manifest(folder)
            if manifest is not None and manifest.source.sha256 == job.sha256:
                return folder
        return None
