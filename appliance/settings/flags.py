"""Command-line flags derived from the settings model: a setting is declared once, in the model.

Each command takes the flags of the sections that list it (``Section.commands``). A flag left out
is ``None``, so the lower layers (file, environment, defaults) decide.
"""

from __future__ import annotations

import argparse
import typing
from typing import Any

from pydantic.fields import FieldInfo

from .load import flag_name
from .model import SECTIONS, is_secret, setting_index


def display(value: Any, info: FieldInfo | None = None) -> str:
    """A setting's value as a person reads it (and as docs/settings.md lists defaults)."""
    if value is None:
        extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
        return str(extra.get("none", ""))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def default_of(info: FieldInfo) -> Any:
    """A setting's default, a list's too (made by its factory)."""
    return info.get_default(call_default_factory=True)


def _choices(info: FieldInfo) -> tuple[str, ...] | None:
    annotation = info.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(v) for v in typing.get_args(annotation))
    return None


def add_setting_flags(parser: argparse.ArgumentParser, command: str | None) -> list[str]:
    """Add a flag for every setting of ``command``'s sections (None: all); returns their flat names."""
    added = []
    for flat, (section, _, info) in setting_index().items():
        if (command is not None and command not in SECTIONS[section].commands) or is_secret(info):
            continue
        text = (info.description or "").replace("`", "")
        default = display(default_of(info), info)
        helptext = f"{text} (default: {default})" if default else text
        if info.annotation is bool:
            parser.add_argument(
                flag_name(flat), dest=flat, action=argparse.BooleanOptionalAction, default=None, help=helptext
            )
        else:
            choices = _choices(info)
            metavar = "{" + ",".join(choices) + "}" if choices else flat.split("_")[-1].upper()
            parser.add_argument(
                flag_name(flat), dest=flat, default=None, choices=choices, metavar=metavar, help=helptext
            )
        added.append(flat)
    return added


def given_flags(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    """The settings given on the command line (flat name -> raw value)."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
