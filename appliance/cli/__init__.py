"""The ``appliance`` command: ``extract`` footage now, ``serve`` the inbox, ``worker`` for a fleet's
shared queue, ``eval`` detection quality, ``people`` and ``export`` (a person's appearances as a
case), ``config`` to show the effective settings. Importing this loads no OpenCV, numpy or nets:
each command imports what it needs when it runs."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..settings import ConfigError
from . import config, evaluate, export, extract, people, serve, worker

COMMANDS = (extract, serve, worker, evaluate, people, export, config)
# errors that say what to do (checked by name: their modules load Redis and RQ, this one loads nothing)
OPERATOR_ERRORS = ("QueueUnreachable", "WorkerError")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="appliance", description=__doc__)
    parser.add_argument("--version", action="version", version=f"appliance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"appliance: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if type(exc).__name__ not in OPERATOR_ERRORS:
            raise
        print(f"appliance: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
