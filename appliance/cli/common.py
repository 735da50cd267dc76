"""What every command shares: the settings flags and loading them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..settings import Resolved, resolve
from ..settings.flags import add_setting_flags, given_flags

Subparsers = Any  # argparse's _SubParsersAction is private


def add_settings(parser: argparse.ArgumentParser, command: str | None) -> None:
    """``--config FILE`` and a flag for every setting ``command`` uses (None: all of them)."""
    parser.add_argument("--config", help="TOML settings file (default: $APPLIANCE_CONFIG)")
    names = add_setting_flags(parser, command)
    parser.set_defaults(setting_flags=names)


def settings_of(args: argparse.Namespace, serving: bool = False) -> Resolved:
    """The settings; what the operator should hear about them (a secret others can read) goes to stderr."""
    resolved = resolve(args.config, given_flags(args, args.setting_flags), serving=serving)
    for warning in resolved.warnings:
        print(f"appliance: warning: {warning}", file=sys.stderr)
    return resolved
