"""Moving footage between inbox, processing, done and failed without ever overwriting or losing a file.

Every move is durable: the new name is synced to disk before the old one is removed, and that
removal is synced too, so a power cut leaves the footage in one place or the other, never nowhere.
A file is taken from the inbox through descriptors: its folder is opened level by level without
following a symlink, the file is opened (and hashed) once, hard-linked by name inside that folder
or copied from the descriptor, and unlinked inside that folder; so swapping the file or any folder
above it for a symlink or a FIFO after it was noticed changes nothing. It is taken only once its
folder allows removing it (a file the appliance cannot delete is never copied again and again), and
removed only if it is unchanged since it was hashed and no longer open for writing.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
from collections.abc import Sequence
from pathlib import Path

from ..common.paths import fsync_dir

REASON_SUFFIX = ".error.txt"
COPY_CHUNK_BYTES = 1 << 20
# link() fails with these where a hard link is impossible (another file system, links not allowed)
NO_LINK = (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
COPY_RESERVE_BYTES = 8 << 20  # left free after copying a file in: room for the job store and a result


class Unremovable(OSError):
    """An inbox file the appliance may not delete: it is left where it is and nothing is copied."""


class NotFollowed(OSError):
    """A folder on the way to an inbox file is a symlink (or no folder): nothing there is taken."""


class Changed(OSError):
    """An inbox file changed after it was hashed, or is still being written: it stays where it is."""


class NoRoom(OSError):
    """An inbox file that must be copied does not fit: it stays in the inbox until there is room."""


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


def open_folder(root: Path, parts: Sequence[str]) -> int:
    """``root/parts[0]/...`` as a directory descriptor, each level opened inside the one before.

    Why descriptors: a path checked and then used by name lets any folder on the way be swapped for
    a symlink in between; a descriptor stays the folder it was opened as. ``root`` itself may be a
    symlink (an inbox mounted elsewhere); below it a symlink, ``..`` or a file fails with
    :class:`NotFollowed`.
    """
    fd = os.open(root, DIR_FLAGS & ~os.O_NOFOLLOW)
    try:
        for part in parts:
            if part in ("", ".", ".."):
                raise NotFollowed(errno.EINVAL, f"{part!r} is not a folder name")
            try:
                inner = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise NotFollowed(exc.errno, "a folder on its way is a symlink or not a folder") from exc
                raise
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """The same inode with the same size and mtime: unchanged, as far as the file system tells."""
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_dev, b.st_ino, b.st_size, b.st_mtime_ns)


def open_for_writing(fd: int) -> bool | None:
    """Whether any process has the file open for writing; None where the kernel will not say.

    A writer that pauses longer than ``settle_s`` looks settled; this asks the kernel instead: a read
    lease is refused (EAGAIN) while the file is open for writing anywhere on this box. It is taken and
    released at once; if a writer opens the file in between, the break signal is SIGURG, which is
    ignored (the default, SIGIO, would end the service). Leases need the file's owner or CAP_LEASE,
    and a local file system: elsewhere the answer is None and only size, mtime and inode are compared.
    """
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return True if exc.errno == errno.EAGAIN else None
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    return False


def take_from_inbox(fd: int, folder_fd: int, name: str, hashed: os.stat_result, dest: Path, dest_name: str) -> Path:
    """Move the inbox file ``name`` in ``folder_fd``, open as ``fd`` and hashed as ``hashed``, into ``dest``.

    Hard-linked when ``dest`` is on the same file system, else copied (:class:`NoRoom` before writing
    anything if it does not fit). The inbox name is removed only if it is still the file that was
    hashed, unchanged and no longer open for writing: else the copy is discarded, the original stays
    and :class:`Changed` is raised. :class:`Unremovable` before copying anything if the inbox folder
    does not let the file be deleted, and after removing the copy if deleting it failed anyway.
    """
    if not os.access(".", os.W_OK | os.X_OK, dir_fd=folder_fd):
        raise Unremovable(errno.EACCES, "the inbox folder does not allow deleting it (read-only or no permission)")
    dest.mkdir(parents=True, exist_ok=True)
    target = _link_or_copy(fd, folder_fd, name, hashed, dest, dest_name)
    fsync_dir(dest)
    try:
        named = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        return target  # renamed away since it was opened: what we took is what we hashed
    if (named.st_dev, named.st_ino) != (hashed.st_dev, hashed.st_ino):
        return target  # replaced since it was opened: the new file is the inbox's, taken on its own
    if open_for_writing(fd) or not same_file(os.fstat(fd), hashed) or not same_file(named, hashed):
        _discard(target)
        raise Changed(errno.EAGAIN, "it changed after it was hashed, or is still open for writing")
    try:
        os.unlink(name, dir_fd=folder_fd)
    except OSError as exc:
        _discard(target)
        raise Unremovable(exc.errno, f"deleting it from the inbox failed: {exc.strerror}") from exc
    os.fsync(folder_fd)
    return target


def _link_or_copy(fd: int, folder_fd: int, name: str, opened: os.stat_result, dest: Path, dest_name: str) -> Path:
    """A hard link of the inbox name if it still is the opened file, else a copy of the descriptor."""
    while True:
        target = unique_path(dest, dest_name)
        try:
            os.link(name, target, src_dir_fd=folder_fd, follow_symlinks=False)
        except FileExistsError:
            continue  # the free name was taken meanwhile
        except OSError as exc:
            if exc.errno not in (*NO_LINK, errno.ENOENT):
                raise
            break
        linked = os.lstat(target)
        if (linked.st_dev, linked.st_ino) == (opened.st_dev, opened.st_ino):
            return target
        os.unlink(target)  # the name meant another file by then: copy the one that was hashed
        break
    check_room(opened.st_size, dest)
    return _copy_in(fd, target)


def check_room(size: int, dest: Path) -> None:
    """:class:`NoRoom` unless ``size`` bytes fit in ``dest`` and leave :data:`COPY_RESERVE_BYTES` free."""
    free = free_bytes(dest)
    if size + COPY_RESERVE_BYTES > free:
        raise NoRoom(
            errno.ENOSPC,
            f"it must be copied ({size / 1e6:.1f} MB: the inbox is on another file system than {dest}), "
            f"and {dest} has {free / 1e6:.1f} MB free ({COPY_RESERVE_BYTES / 1e6:.0f} MB are kept in reserve)",
        )


def _discard(target: Path) -> None:
    target.unlink(missing_ok=True)
    fsync_dir(target.parent)


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
