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
    from ..app import WorkerBox
    from ..common.logs import setup_logging

    settings = settings_of(args).settings
    setup_logging(settings.service.log_level)
    box = WorkerBox(settings)
    log = logging.getLogger("appliance.worker")
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    box.start()
    while not stop.wait(SUPERVISE_EVERY_S):
        box.supervise()
    box.stop(STOP_GRACE_S)
    return 0
