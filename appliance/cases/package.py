"""The case as one zip, published whole or not at all, never over an existing file.

Written under a hidden name beside the target, synced, then linked to its name (``link`` fails if
the name is taken: an export never overwrites) and the hidden name removed; any failure removes the
hidden file, so a failed export leaves no half-written zip. Clips are stored as they are (H.264
does not compress further), the rest deflated.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ..common.paths import fsync_dir

STORED_SUFFIXES = (".mp4", ".jpg", ".jpeg", ".png")


class Exists(FileExistsError):
    """The target zip is there already: an export never overwrites."""


def check_target(target: Path) -> None:
    """Before any work: a target that cannot be written is an error now, not after the clips are cut."""
    if target.exists() or target.is_symlink():
        raise Exists(f"{target} exists: an export never overwrites; give another name")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{target.parent} is not a folder: the zip cannot be written there")


def write_zip(folder: Path, target: Path) -> Path:
    """Every file under ``folder`` into ``target`` (paths relative to ``folder``), atomically."""
    check_target(target)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                name = path.relative_to(folder).as_posix()
                kind = zipfile.ZIP_STORED if path.suffix.lower() in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
                archive.write(path, name, compress_type=kind)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        try:
            os.link(partial, target)
        except FileExistsError:
            raise Exists(f"{target} appeared while exporting: an export never overwrites") from None
        fsync_dir(target.parent)
    finally:
        partial.unlink(missing_ok=True)
    return target
