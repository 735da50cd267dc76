"""Moving footage between inbox, processing, done and failed without ever overwriting a file."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path


def unique_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-2.ext``, ``-3``, ... for the first name not taken."""
    base = Path(name)
    candidate = folder / base.name
    n = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = folder / f"{base.stem}-{n}{base.suffix}"
        n += 1
    return candidate


def move_no_clobber(src: Path, folder: Path, name: str | None = None) -> Path:
    """Move ``src`` into ``folder`` under a free name; returns the new path.

    Within one file system: a hard link then unlink, so an existing file is never replaced
    (``rename`` would silently replace it). Across file systems, or where links are not allowed:
    copy to a hidden temporary name, flush, link or rename into place, then remove the source.
    """
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        target = unique_path(folder, name or src.name)
        try:
            os.link(src, target)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                raise
            return _copy_then_remove(src, target)
        os.unlink(src)
        return target


def _copy_then_remove(src: Path, target: Path) -> Path:
    tmp = target.with_name(f".{target.name}.copying")
    shutil.copy2(src, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    if target.exists():  # taken while we copied
        target = unique_path(target.parent, target.name)
    os.rename(tmp, target)
    os.unlink(src)
    return target


REASON_SUFFIX = ".error.txt"


def reason_path(footage: Path) -> Path:
    """Where the reason a file failed is written: ``<file>.error.txt`` beside it."""
    return footage.with_name(footage.name + REASON_SUFFIX)


def write_reason(footage: Path, reason: str) -> Path:
    path = reason_path(footage)
    path.write_text(reason.rstrip() + "\n", encoding="utf-8")
    return path
