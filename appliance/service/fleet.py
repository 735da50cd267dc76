"""The ingest box's watch over the fleet's queue: runs that ended without settling their job.

Every :data:`RECONCILE_EVERY_S`, RQ's registry of started runs is cleaned: a run whose heartbeat is
late (its box died, or lost the network) moves to RQ's failed registry. Then each job is compared
with its run:

- processing, and its run failed, finished or vanished: the job is put right like a job whose worker
  died (re-queued with the attempt counted, failed after the usual number, or marked done from a
  result published before the interruption);
- queued, and its run is not waiting (lost in a Redis restart, or its wait for disk space is over):
  a new run is dispatched.

The run's state is read first and the job after it, so a job that settles meanwhile is left alone.
"""

from __future__ import annotations

import logging
import time

from rq.exceptions import NoSuchJobError
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from .jobs import Job, JobState
from .queue.redis import RedisJobStore
from .queue.runs import RUN_SERIALIZER, ApplianceRun
from .recovery import Recovery

log = logging.getLogger("appliance.fleet")
RECONCILE_EVERY_S = 10.0
ENDED = (JobStatus.FAILED, JobStatus.FINISHED, JobStatus.STOPPED, JobStatus.CANCELED, None)
WAITING = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


class FleetReconciler:
    def __init__(self, store: RedisJobStore, recovery: Recovery) -> None:
        self.store = store
        self.recovery = recovery
        self._last = 0.0

    def tick(self) -> None:
        if time.monotonic() - self._last < RECONCILE_EVERY_S:
            return
        self._last = time.monotonic()
        StartedJobRegistry(queue=self.store.rq).cleanup()
        for job in self.store.processing():
            self._check_running(job)
        for job in self.store.queued():
            self._check_waiting(job)

    def _run(self, lease: str | None) -> tuple[JobStatus | None, str]:
        """The RQ run's status (None: no such run) and, for a failed one, why."""
        if lease is None:
            return None, "it had no run"
        try:
            run = ApplianceRun.fetch(lease, connection=self.store.r, serializer=RUN_SERIALIZER)
        except NoSuchJobError:
            return None, "its run is gone from the queue"
        status = run.get_status(refresh=False)
        why = (run.exc_info or "").strip().splitlines()[-1:] or [str(status)]
        return status, why[0]

    def _check_running(self, job: Job) -> None:
        status, why = self._run(job.lease)
        if status not in ENDED:
            return
        now = self.store.get(job.id)
        if now is None or now.state is not JobState.PROCESSING or now.lease != job.lease:
            return  # settled meanwhile
        if "Abandoned" in why:
            cause = f"its worker ({job.host}) stopped sending heartbeats"
        else:
            cause = f"its run ended without finishing it ({why})"
        log.warning("job %d: %s", job.id, cause)
        self.store.tell_operator("worker", f"job {job.id} ({job.name}) taken back: {cause}")
        self.recovery.job(now, cause)

    def _check_waiting(self, job: Job) -> None:
        if job.retry_at is not None and job.retry_at > time.time():
            return
        status, _ = self._run(job.lease)
        if status in WAITING:
            return
        now = self.store.get(job.id)
        if now is None or now.state is not JobState.QUEUED or now.lease != job.lease:
            return
        log.info("job %d: dispatched again (%s)", job.id, "its wait is over" if job.retry_at else "its run was lost")
        self.store.dispatch(job.id)
