"""Paths under a root reached without ``..`` or symlinks: what the inbox takes and the web serves."""

from __future__ import annotations

import os
from pathlib import Path, PurePath


def inside_without_symlinks(root: Path, relative: PurePath | str) -> Path | None:
    """``root/relative`` if no part of the way there is a symlink, ``..``, empty or hidden; else None.

    ``root`` itself may be a symlink (an inbox mounted elsewhere); nothing below it may be.
    The path need not exist; callers check what it is.
    """
    text = str(relative)
    if not text or text.startswith(("/", "\\")) or "\x00" in text:
        return None
    parts = PurePath(text).parts
    if any(part in ("..", ".", "") or part.startswith(".") for part in parts):
        return None
    base = root.resolve()
    cursor = base
    for part in parts:
        cursor = cursor / part
        if cursor.is_symlink():
            return None
    return cursor


def display_name(name: str) -> str:
    """A file name as a person reads it: bytes that are not UTF-8 (kept by Python as surrogates) shown as ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` survive a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
