"""A worker process's life: boxed in, its own detector, and the loop that gives it jobs.

The pool spawns :func:`worker_main` (TensorFlow does not survive fork). It builds one
:class:`~.worker.Worker` and hands it jobs from one of two loops: on the embedded queue the worker
polls (:func:`poll`: SQLite's ``claim``); in a fleet RQ hands it runs (:func:`.queue.rq_worker.work_from_queue`).
The worker itself knows neither loop.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import threading
import time

from ..common.box import box_name, name_box
from ..common.logs import setup_logging
from ..people.index import PeopleIndex
from ..pipeline.extract import Extractor
from ..settings import Settings
from .layout import StateLayout
from .queue import open_redis, open_sqlite
from .queue.rq_worker import work_from_queue
from .stop_flag import StopFlag
from .store import ClaimingQueue, JobStore
from .worker import Worker, worker_name

log = logging.getLogger("appliance.worker")
IDLE_POLL_S = 0.5  # an idle worker looks for a job this often
PARENT_CHECK_S = 0.5
MB = 1 << 20


def limit_address_space(megabytes: int) -> None:
    if megabytes > 0:
        limit = megabytes * MB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def worker_main(settings: Settings, slot: int, stop: StopFlag) -> None:
    """Entry point of a worker process (spawned: TensorFlow does not survive fork)."""
    # Ctrl-C reaches every process of the group: the service decides, the worker follows its flag.
    # SIGTERM sent to the whole group (systemd's default) is a request to stop, like the flag.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    setup_logging(settings.service.log_level)
    name_box(settings.service.box)
    os.environ.setdefault("OMP_NUM_THREADS", str(settings.extract.threads))
    _stop_with_parent(stop)
    layout = StateLayout(settings.service.state_dir)
    if settings.service.fleet:
        worker = _worker(settings, layout, slot, open_redis(settings), stop)
        with worker.beating():
            work_from_queue(settings, worker)
    else:
        queue = open_sqlite(settings, layout)
        worker = _worker(settings, layout, slot, queue, stop)
        with worker.beating():
            poll(queue, worker)
    log.info("worker %s stopped", worker_name(slot))


def _worker(settings: Settings, layout: StateLayout, slot: int, store: JobStore, stop: StopFlag) -> Worker:
    """The worker with its detector loaded, then boxed into its address-space limit."""
    extractor = Extractor(settings.extract, motion=settings.motion, scan=settings.scan, people=settings.people)
    limit_address_space(settings.service.worker_memory_mb)  # after the nets are loaded: they map a lot once
    log.info("worker %s ready (backend %s)", worker_name(slot), extractor.detector.backend)
    # one writer to the people index: this box's workers on the embedded queue, the ingest box in a fleet
    local_index = settings.people.enabled and not settings.service.fleet
    people = PeopleIndex(layout.people_database, settings.people.threshold) if local_index else None
    return Worker(settings, layout, slot, store, extractor, stop, people)


def poll(queue: ClaimingQueue, worker: Worker) -> None:
    """The embedded queue's loop: take the next job, process it, until the stop flag is set."""
    while not worker.stop.is_set():
        job = queue.claim(worker.slot, box_name())
        if job is None:
            worker.stop.wait(IDLE_POLL_S)
            continue
        worker.process(job)


def _stop_with_parent(stop: StopFlag) -> None:
    """If the service dies (kill -9, power loss), stop too: never finish a job behind its back."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.is_set():
            if os.getppid() != parent:
                log.error("service process gone; worker exiting")
                os._exit(3)
            time.sleep(PARENT_CHECK_S)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
