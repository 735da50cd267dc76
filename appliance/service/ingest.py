"""Taking a settled file from the inbox: open it safely, hash it, record it, move it, queue it.

The file's folder is opened level by level under the inbox without following a symlink, and the
file inside it once, without following a symlink and without blocking on a FIFO; it must be a
regular file. It is hashed, linked or copied and unlinked through those descriptors, so what is
processed is what was checked, and a folder swapped for a symlink redirects nothing. It is taken
only when no process has it open for writing and it is unchanged since it was hashed; else it
stays and is offered again once it has settled again. The job is recorded (``received``) before
the file leaves the inbox, so a power cut at any point leaves either the file in the inbox or a job
that start-up can finish (:func:`recover_received`). A file the appliance may not delete is
recorded once as failed, with the reason, and left alone until it changes. One that must be copied
and does not fit waits in the inbox, said once, tried again less and less often.

Content already processed is marked ``duplicate``. A copy of content whose job has not finished
waits in the inbox (said once) until that job ends: then it is a duplicate if the job is done, or
processed as a job of its own if the job failed, so it is never lost with a failed original.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from ..common.hashing import CHUNK_BYTES
from ..common.paths import display_name
from .footage import (
    Changed,
    NoRoom,
    NotFollowed,
    Unremovable,
    move_no_clobber,
    open_folder,
    open_for_writing,
    take_from_inbox,
    unique_path,
)
from .jobs import Job, JobState
from .layout import StateLayout
from .outcome import record_failed
from .store import JobStore

log = logging.getLogger("appliance.ingest")
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
ROOM_RETRY_S = 30.0  # a file that does not fit is tried again after this, then twice as long each time
ROOM_RETRY_MAX_S = 900.0
KEPT_DIGESTS = 10_000  # hashes remembered for files left waiting in the inbox (not hashed again each scan)


def sha256_fd(fd: int) -> str:
    digest = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    while block := os.read(fd, CHUNK_BYTES):
        digest.update(block)
    return digest.hexdigest()


def _identity(info: os.stat_result) -> tuple[int, ...]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class Ingest:
    """Called by the inbox watcher with each settled path."""

    def __init__(
        self, inbox: Path, layout: StateLayout, store: JobStore, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.inbox = inbox
        self.root = inbox.resolve()
        self.layout = layout
        self.store = store
        self.clock = clock
        self._said: set[tuple[str, str]] = set()  # (path, what) already told the operator
        self._room: dict[str, tuple[float, float]] = {}  # path -> (not before, back-off) for files that did not fit
        self._digests: dict[str, tuple[tuple[int, ...], str]] = {}

    def __call__(self, path: Path) -> Job | None:
        rel = path.relative_to(self.root) if path.is_absolute() else path.relative_to(self.inbox)
        path = self.root / rel
        try:
            folder_fd = open_folder(self.root, rel.parts[:-1])
        except NotFollowed:
            self._refuse(path, "in a folder that is a symlink (never followed)")
            return None
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                log.warning("cannot open the folder of %s: %s", display_name(str(rel)), exc.strerror)
            return None
        try:
            return self._open(folder_fd, path, str(rel))
        finally:
            os.close(folder_fd)

    def _open(self, folder_fd: int, path: Path, rel: str) -> Job | None:
        try:
            fd = os.open(path.name, OPEN_FLAGS, dir_fd=folder_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._refuse(path, "a symlink (never followed)")
            elif exc.errno != errno.ENOENT:
                log.warning("cannot open %s: %s", display_name(rel), exc.strerror)
            return None
        try:
            return self._take(fd, folder_fd, path, rel)
        finally:
            os.close(fd)

    def _say_once(self, path: Path, what: str, message: str, *args: object, level: int = logging.WARNING) -> bool:
        """Log ``message`` the first time ``what`` is found for ``path``; returns whether it was the first."""
        if (str(path), what) in self._said:
            return False
        self._said.add((str(path), what))
        log.log(level, message, *args)
        return True

    def _refuse(self, path: Path, what: str) -> None:
        self._say_once(path, what, "not taken from the inbox: %s is %s", display_name(path.name), what)

    def _take(self, fd: int, folder_fd: int, path: Path, rel: str) -> Job | None:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            self._refuse(path, "not a regular file (a FIFO, socket or device)")
            return None
        earlier = self.store.failed_in_place(str(path))
        if earlier is not None and earlier.size == info.st_size and (earlier.finished or 0) >= info.st_ctime:
            return None  # recorded as failed in place, unchanged since
        if self._room.get(str(path), (0.0, 0.0))[0] > self.clock():
            return None  # did not fit a moment ago: tried again after its back-off
        if open_for_writing(fd):
            self._say_once(
                path,
                "open",
                "%s is still open for writing: taken once it is closed",
                display_name(rel),
                level=logging.INFO,
            )
            return None
        digest = self._digest(fd, path, info)
        if os.fstat(fd).st_size != info.st_size:  # still being written after all: the next scan retries it
            return None
        original = self.store.find_active_or_done(digest)
        if original is not None and original.state is not JobState.DONE:
            self._wait_for(path, original)
            return None
        return self._record(fd, folder_fd, path, info, digest)

    def _digest(self, fd: int, path: Path, info: os.stat_result) -> str:
        """The file's sha256; remembered while it waits in the inbox, so a scan does not read it all again."""
        known = self._digests.get(str(path))
        if known is not None and known[0] == _identity(info):
            return known[1]
        digest = sha256_fd(fd)
        if len(self._digests) >= KEPT_DIGESTS:
            self._digests.clear()
        self._digests[str(path)] = (_identity(info), digest)
        return digest

    def _wait_for(self, path: Path, original: Job) -> None:
        """Same content as a job not finished yet: wait in the inbox, so a failing original does not take it along."""
        message = (
            f"{display_name(path.name)} has the same content as job {original.id} ({original.name}), still "
            f"{original.state}: it waits in the inbox until that job ends, then is marked duplicate if the job "
            "is done, or processed if it failed"
        )
        if self._say_once(path, f"waits for {original.id}", "%s", message, level=logging.INFO):
            self.store.tell_operator("inbox", message)

    def _record(self, fd: int, folder_fd: int, path: Path, info: os.stat_result, digest: str) -> Job | None:
        name = display_name(str(path.relative_to(self.root)))
        flat = name.replace(os.sep, "__")  # processing/, done/, failed/ hold names any tool can read
        planned = unique_path(self.layout.processing, flat)
        job = self.store.add(name, str(planned), digest, info.st_size, source=str(path), state=JobState.RECEIVED)
        try:
            moved = take_from_inbox(fd, folder_fd, path.name, info, self.layout.processing, planned.name)
        except Unremovable as exc:
            reason = f"{name} could not be taken from the inbox: {exc.strerror}; it was left there"
            record_failed(self.store, job, path, reason)
            self.store.tell_operator("failed", reason)
            log.error("job %d failed: %s", job.id, reason)
            return self.store.get(job.id)
        except Changed:
            self.store.forget(job.id)
            log.info("%s changed while it was taken (its writer is not done): left in the inbox until it settles", name)
            return None
        except NoRoom as exc:
            self.store.forget(job.id)
            self._no_room(path, f"{name} waits in the inbox: {exc.strerror}")
            return None
        except BaseException:
            self.store.forget(job.id)
            raise
        self._taken(path)
        return self._queue(job, moved)

    def _no_room(self, path: Path, reason: str) -> None:
        """Leave a file that does not fit; say so once (log and page), try again later and later."""
        _, backoff = self._room.get(str(path), (0.0, ROOM_RETRY_S / 2))
        backoff = min(backoff * 2, ROOM_RETRY_MAX_S)
        self._room[str(path)] = (self.clock() + backoff, backoff)
        if self._say_once(path, "no room", "%s; tried again in %.0f s, then less often", reason, backoff):
            self.store.tell_operator("inbox", reason)

    def _taken(self, path: Path) -> None:
        """Forget what was said and remembered about ``path``: a new file by that name is news again."""
        self._room.pop(str(path), None)
        self._digests.pop(str(path), None)
        self._said = {said for said in self._said if said[0] != str(path)}

    def _queue(self, job: Job, moved: Path) -> Job:
        self.store.queue(job.id, str(moved))
        original = self.store.find_active_or_done(job.sha256)
        if original is not None and original.id != job.id:
            kept = move_no_clobber(moved, self.layout.done)
            self.store.mark_duplicate(job.id, original.id, str(kept))
            log.info("job %d: %s is a duplicate of job %d (same sha256); not re-run", job.id, job.name, original.id)
        else:
            log.info("job %d queued: %s (%.1f MB)", job.id, job.name, job.size / 1e6)
        return self.store.get(job.id) or job


def recover_received(store: JobStore, layout: StateLayout, inbox: Path | None = None) -> None:
    """Finish what a power cut interrupted between recording a job and moving its file.

    A job's inbox name is removed only through ``inbox``'s folders (no symlink followed); without
    ``inbox`` it is left, and the inbox offers it again.
    """
    for job in store.received():
        target = Path(job.path)
        if target.exists():
            if job.source and inbox is not None:
                _unlink_if_same(inbox, Path(job.source), target)
            store.queue(job.id, str(target))
            log.info("job %d: %s queued after an interruption", job.id, job.name)
        else:
            store.forget(job.id)  # still in the inbox (or gone): the inbox offers it again
    for partial in layout.processing.glob(".*.copying"):  # a copy cut short; its source is still in the inbox
        partial.unlink()
    known = store.paths()
    for orphan in sorted(layout.processing.iterdir()):
        if orphan.is_file() and not orphan.name.startswith(".") and str(orphan) not in known:
            fd = os.open(orphan, OPEN_FLAGS)
            try:
                digest, size = sha256_fd(fd), os.fstat(fd).st_size
            finally:
                os.close(fd)
            job = store.add(display_name(orphan.name), str(orphan), digest, size)
            log.info("job %d: %s was in processing/ with no job; queued", job.id, job.name)


def _unlink_if_same(inbox: Path, source: Path, target: Path) -> None:
    """Remove the inbox name ``source`` if it is ``target`` (linked into processing/, not yet removed),
    reached through folder descriptors like any inbox file: a folder swapped for a symlink removes nothing."""
    root = inbox.resolve()
    try:
        folder_fd = open_folder(root, source.relative_to(root).parts[:-1])
    except (OSError, ValueError):
        return
    try:
        named, taken = os.stat(source.name, dir_fd=folder_fd, follow_symlinks=False), os.lstat(target)
        if (named.st_dev, named.st_ino) == (taken.st_dev, taken.st_ino):
            os.unlink(source.name, dir_fd=folder_fd)
            os.fsync(folder_fd)
    except FileNotFoundError:
        pass
    finally:
        os.close(folder_fd)
