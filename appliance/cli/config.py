"""``appliance config``: the effective settings and where each value came from."""

from __future__ import annotations

import argparse
import json

from ..settings import Resolved, env_name, flag_name, setting_index
from ..settings.flags import default_of, display
from ..settings.model import is_secret
from .common import Subparsers, add_settings, settings_of

HIDDEN = "(set, hidden)"


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("config", help="print the effective settings and where each value came from")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object: name -> {value, source}")
    out.add_argument("--markdown", action="store_true", help="the settings table of docs/settings.md (defaults)")
    add_settings(p, None)
    p.set_defaults(func=cmd_config)


def rows(resolved: Resolved) -> list[tuple[str, str, str]]:
    """(name, value as shown, origin) for every setting; secrets show only whether they are set."""
    out = []
    for flat, (section, field, info) in setting_index().items():
        value = getattr(getattr(resolved.settings, section), field)
        shown = (HIDDEN if value not in (None, []) else "") if is_secret(info) else display(value, info)
        out.append((flat, shown, resolved.origins[flat]))
    return out


TABLE_HEADER = "| section | setting | environment | flag | default | meaning |"
SECTIONS_HEADER = "| section | settings |"


def markdown_table() -> str:
    """Every setting with its section, environment name, flag, default and meaning (docs/settings.md)."""
    lines = [TABLE_HEADER, "|---|---|---|---|---|---|"]
    for flat, (section, _, info) in setting_index().items():
        flag = "" if is_secret(info) else f"`{flag_name(flat)}`"
        default = display(default_of(info), info)
        shown = f"`{default}`" if default else ""
        lines.append(f"| {section} | `{flat}` | `{env_name(flat)}` | {flag} | {shown} | {info.description} |")
    return "\n".join(lines)


def sections_table() -> str:
    """Each section and the names of its settings (the README's short list)."""
    names: dict[str, list[str]] = {}
    for flat, (section, _, _) in setting_index().items():
        names.setdefault(section, []).append(f"`{flat}`")
    return "\n".join([SECTIONS_HEADER, "|---|---|", *(f"| {s} | {', '.join(n)} |" for s, n in names.items())])


def cmd_config(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown_table())
        return 0
    table = rows(settings_of(args))
    if args.json:
        print(json.dumps({name: {"value": value, "source": origin} for name, value, origin in table}))
        return 0
    width = max(len(name) for name, _, _ in table)
    value_width = max(len(value) for _, value, _ in table)
    for name, value, origin in table:
        print(f"{name:<{width}}  {value:<{value_width}}  {origin}")
    return 0
