"""``appliance serve``: run the appliance until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType

from .common import Subparsers, add_settings, settings_of


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="watch the inbox, process footage, serve the status page")
    add_settings(p, "serve")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..app import Appliance
    from ..common.logs import setup_logging

    settings = settings_of(args, serving=True).settings
    setup_logging(settings.service.log_level)
    appliance = Appliance(settings)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("appliance").info("received %s", signal.Signals(signum).name)
        appliance.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    appliance.start()
    appliance.run()
    appliance.stop()
    return 0
