"""``appliance worker``: a box that only processes, taking jobs from the fleet's shared queue."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from .common import Subparsers, add_settings, settings_of

SUPERVISE_EVERY_S = 1.0
STOP_GRACE_S = 7.0


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "worker",
        help="process jobs from a shared queue (a fleet): APPLIANCE_QUEUE=redis://... with --data <shared folder>",
    )
    add_settings(p, "worker")
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from ..common.box import box_name, name_box
    from ..common.logs import setup_logging
    from ..output.writer import remove_partials
    from ..service.layout import StateLayout
    from ..service.pool import WorkerPool
    from ..service.queue import open_redis
    from ..service.recovery import Recovery

    settings = settings_of(args).settings
    svc = settings.service
    name_box(svc.box)
    if not svc.fleet:
        raise WorkerError("appliance worker takes its jobs from a shared queue: set APPLIANCE_QUEUE="
                          "redis://host:6379/0 (on a single box, appliance serve runs the workers)")  # fmt: skip
    layout = StateLayout(svc.state_dir)
    if not layout.processing.is_dir() or not svc.outbox_dir.is_dir():
        raise WorkerError(f"the shared folders are not there: {layout.processing} and {svc.outbox_dir} "
                          "(mount the ingest box's data folder here, or point --data at it)")  # fmt: skip
    setup_logging(svc.log_level)
    log = logging.getLogger("appliance.worker")
    store = open_redis(settings)
    recovery = Recovery(store, layout, svc.outbox_dir, None, settings.events, people_enabled=settings.people.enabled)
    for partial in remove_partials(svc.outbox_dir):
        log.info("removed partial result %s", partial.name)
    for job in store.processing():
        if job.host == box_name():
            recovery.job(job, f"the worker box {box_name()} stopped while it ran")
    pool = WorkerPool(settings, store, recovery)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pool.start()
    log.info("worker box %s: %d worker(s) on the queue at %s", box_name(), svc.workers, store.rq.name)
    while not stop.wait(SUPERVISE_EVERY_S):
        pool.supervise()
    pool.stop(STOP_GRACE_S)
    log.info("stopped")
    return 0


class WorkerError(Exception):
    """A worker box that cannot start, said for the operator."""
