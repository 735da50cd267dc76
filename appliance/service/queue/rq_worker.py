"""A fleet worker process: RQ hands it runs from the shared queue; it processes them with its own detector.

RQ's :class:`~rq.SimpleWorker` runs each job in this process (the nets stay loaded between jobs; a
forked work-horse would load them per job). A thread keeps the run's heartbeat going while it works,
every :data:`HEARTBEAT_S`, so a box that dies is noticed within :data:`HEARTBEAT_S` + the setting
``heartbeat_grace_s`` (RQ then moves the run to its failed registry, where the ingest box finds it).
Stopping (the service's flag) is RQ's warm shutdown: the running job re-queues itself first.

Runs are JSON and may only call :func:`run_job` (:mod:`.runs`): whoever can write to the Redis can
queue a run, and must not be able to make a worker run anything else.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from functools import partial
from typing import Any, Protocol

import redis
from rq import SimpleWorker
from rq.worker import WorkerStatus

from ...common.box import box_name
from ...settings import Settings
from ..jobs import Job
from ..stop_flag import StopFlag
from ..store import JobStore
from .redis import RQ_QUEUE
from .redis_connect import connect
from .redis_records import UnsafeRecord
from .runs import RUN_SERIALIZER, ApplianceRun, RefusedRun

log = logging.getLogger("appliance.worker")
HEARTBEAT_S = 10  # a running job's heartbeat (late after ``heartbeat_grace_s`` more: the job is retried elsewhere)
MAINTENANCE_S = 60  # each worker also cleans RQ's registries this often (the ingest box does every 10 s)


class Runner(Protocol):
    """What a run needs of the appliance's worker (:class:`~appliance.service.worker.Worker`)."""

    store: JobStore
    slot: int
    stop: StopFlag

    def process(self, job: Job) -> None: ...


def run_job(runner: Runner, job_id: int, lease: str) -> str:
    """The RQ task: take the job if this run still holds it, then process it (any outcome is settled).

    ``runner`` is bound by the RQ worker that performs the run (:class:`ApplianceRqWorker`); a run's
    own arguments are only the job's id and its lease."""
    if not isinstance(job_id, int) or isinstance(job_id, bool) or not isinstance(lease, str):
        raise RefusedRun(f"run_job takes a job id and a lease, not {job_id!r}, {lease!r}")
    try:
        job = runner.store.start(job_id, runner.slot, box_name(), lease)
    except UnsafeRecord as exc:  # the run fails with the reason; the page hears of it
        log.error("job %s refused: %s", job_id, exc)
        runner.store.tell_operator("refused", f"job {job_id} refused by {box_name()}: {exc}")
        raise
    if job is None:
        return "stale run: the job was not waiting for it"
    runner.process(job)
    return "processed"


class ApplianceRqWorker(SimpleWorker):
    """RQ's in-process worker, with a heartbeat while a job runs (SimpleWorker sends none); it performs each
    run with its appliance worker (:attr:`runner`), which it binds to the run's task."""

    runner: Runner | None = None
    grace_s: float = 35.0  # a run whose heartbeat is this much later than due is abandoned

    def execute_job(self, job: Any, queue: Any) -> None:
        if isinstance(job, ApplianceRun) and self.runner is not None:
            job.task = partial(run_job, self.runner)
        execution = self.prepare_execution(job)
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.job_monitoring_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except redis.RedisError as exc:
                    log.warning("heartbeat not sent: %s", exc)

        thread = threading.Thread(target=beat, name="rq-heartbeat", daemon=True)
        thread.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            thread.join(timeout=5)
        self.set_state(WorkerStatus.IDLE)

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        return int(self.job_monitoring_interval + self.grace_s)


def rq_worker_for(
    connection: redis.Redis, name: str, runner: Runner | None = None, grace_s: float = 35.0
) -> ApplianceRqWorker:
    """RQ's worker as the appliance runs it: JSON runs, only the appliance's task (see :mod:`.runs`)."""
    worker = ApplianceRqWorker(
        [RQ_QUEUE],
        connection=connection,
        name=name,
        job_class=ApplianceRun,
        serializer=RUN_SERIALIZER,
        job_monitoring_interval=HEARTBEAT_S,
        maintenance_interval=MAINTENANCE_S,
    )
    worker.runner = runner
    worker.grace_s = grace_s
    return worker


def work_from_queue(settings: Settings, runner: Runner) -> None:
    """Take runs from the fleet's queue until the worker's stop flag is set."""
    name = f"{box_name()}-{runner.slot}-{os.getpid()}"
    service = settings.service
    rq_worker = rq_worker_for(connect(service.queue_url), name, runner, service.heartbeat_grace_s)

    def stop_when_told() -> None:
        runner.stop.wait(float("inf"))
        os.kill(os.getpid(), signal.SIGTERM)  # RQ's warm shutdown; the running job sees the flag and re-queues

    threading.Thread(target=stop_when_told, name="stop-watch", daemon=True).start()
    rq_worker.work(burst=False, logging_level=settings.service.log_level, with_scheduler=False)
