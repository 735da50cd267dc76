"""``appliance serve``: run the appliance until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
import signal

from .config import load


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="watch the inbox, process footage, serve the status page")
    p.add_argument("--data", help="data folder holding inbox/, outbox/, state/ (default ./data)")
    p.add_argument("--inbox", help="inbox folder (default <data>/inbox)")
    p.add_argument("--outbox", help="outbox folder (default <data>/outbox)")
    p.add_argument("--state", help="state folder: job database, processing/done/failed footage")
    p.add_argument("--host", help="address to bind (default 127.0.0.1; others need a token)")
    p.add_argument("--port", type=int, help="port (default 8080)")
    p.add_argument("--workers", type=int, help="worker processes (default 1)")
    p.add_argument("--backend", choices=["auto", "tf", "tflite"])
    p.add_argument("--polling", action="store_true", default=None, help="poll the inbox (NFS/SMB/bind mounts)")
    p.add_argument("--config", help="TOML settings file")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from .service import Service
    from .worker import setup_logging

    keys = ("data", "inbox", "outbox", "state", "host", "port", "workers", "backend", "polling")
    settings = load(args.config, {k: getattr(args, k, None) for k in keys}, serving=True)
    setup_logging(settings.log_level)
    service = Service(settings)

    def on_signal(signum, _frame) -> None:
        logging.getLogger("appliance").info("received %s", signal.Signals(signum).name)
        service.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    service.run()
    service.stop()
    return 0
