"""The ``appliance`` command: ``extract`` footage now, ``serve`` the inbox, ``eval`` detection quality,
``config`` to show the effective settings. Importing this loads no OpenCV, numpy or nets: each
command imports what it needs when it runs."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..settings import ConfigError
from . import config, evaluate, extract, people, serve

COMMANDS = (extract, serve, evaluate, people, config)


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
    except KeyboardInterrupt:
        return 130
