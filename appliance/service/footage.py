"""Moving footage between inbox, processing, done and failed without ever overwriting or losing a file.

Every move is durable: the new name is synced to disk before the old one is removed, and that
removal is synced too, so a power cut leaves the footage in one place or the other, never nowhere.
A file is taken from the inbox through the descriptor it was opened (and hashed) with, so swapping
the name for a symlink or a FIFO after it was noticed changes nothing; and only once its folder
allows removing it, so that a file the appliance cannot delete is never copied again and again.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from ..common.paths import fsync_dir

REASON_SUFFIX = ".error.txt"
COPY_CHUNK_BYTES = 1 << 20
# link() fails with these where a hard link is impossible (another file system, links not allowed)
NO_LINK = (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK)


class Unremovable(OSError):
    """An inbox file the appliance may not delete: it is left where it is and nothing is copied."""


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
    """Move ``src`` (one of the appliance's own files) into ``folder`` under a free name; returns the new path.

    Within one file system: a hard link then unlink, so an existing file is never replaced
    (``rename`` would silently replace it). Across file systems, or where links are not allowed:
    copy to a hidden temporary name, sync, rename into place, then remove the source.
    """
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        target = unique_path(folder, name or src.name)
        try:
            os.link(src, target)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in NO_LINK:
                raise
            with open(src, "rb") as handle:
                target = _copy_in(handle.fileno(), target)
        fsync_dir(folder)
        os.unlink(src)
        fsync_dir(src.parent)
        return target


def take_from_inbox(fd: int, src: Path, folder: Path, name: str) -> Path:
    """Move the inbox file open as ``fd`` (a regular file) into ``folder`` as ``name`` (or a free variant).

    Raises :class:`Unremovable` before copying anything if the inbox folder does not let the file
    be deleted, and after removing the copy if deleting it failed anyway (an immutable file).
    The name ``src`` is removed only if it still is the file that was opened.
    """
    if not os.access(src.parent, os.W_OK | os.X_OK):
        raise Unremovable(errno.EACCES, "the inbox folder does not allow deleting it (read-only or no permission)")
    folder.mkdir(parents=True, exist_ok=True)
    target = unique_path(folder, name)
    try:
        os.link(f"/proc/self/fd/{fd}", target)  # the opened file itself, whatever the name means now
    except OSError as exc:
        if exc.errno not in (*NO_LINK, errno.ENOENT):
            raise
        target = _copy_in(fd, target)
    fsync_dir(folder)
    opened, named = os.fstat(fd), os.lstat(src)
    if (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino):
        return target  # renamed or replaced since it was opened: what we took is what we hashed
    try:
        os.unlink(src)
    except OSError as exc:
        os.unlink(target)
        fsync_dir(folder)
        raise Unremovable(exc.errno, f"deleting it from the inbox failed: {exc.strerror}") from exc
    fsync_dir(src.parent)
    return target


def _copy_in(fd: int, target: Path) -> Path:
    """Copy the open file ``fd`` to ``target`` (or a free variant) via a synced hidden temporary file."""
    tmp = target.with_name(f".{target.name}.copying")
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        with open(tmp, "wb") as out:
            while block := os.read(fd, COPY_CHUNK_BYTES):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if target.exists():  # taken while we copied
            target = unique_path(target.parent, target.name)
        os.rename(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def reason_path(footage: Path) -> Path:
    """Where the reason a file failed is written: ``<file>.error.txt`` beside it."""
    return footage.with_name(footage.name + REASON_SUFFIX)


def write_reason(footage: Path, reason: str) -> Path:
    path = reason_path(footage)
    path.write_text(reason.rstrip() + "\n", encoding="utf-8")
    return path


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free
