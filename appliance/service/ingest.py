"""Taking a settled file from the inbox: open it safely, hash it, record it, move it, queue it.

The file is opened once, without following a symlink and without blocking on a FIFO, and must be
a regular file; it is hashed and moved through that descriptor, so what is processed is what was
checked. The job is recorded (``received``) before the file leaves the inbox, so a power cut at
any point leaves either the file in the inbox or a job that start-up can finish
(:func:`recover_received`). A file the appliance may not delete is recorded once as failed, with
the reason, and left alone until it changes.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from pathlib import Path

from ..common.hashing import CHUNK_BYTES
from ..common.paths import display_name
from .footage import Unremovable, move_no_clobber, take_from_inbox, unique_path
from .jobs import Job, JobState, JobStore
from .layout import StateLayout
from .notify import record_failed

log = logging.getLogger("appliance.ingest")
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def sha256_fd(fd: int) -> str:
    digest = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    while block := os.read(fd, CHUNK_BYTES):
        digest.update(block)
    return digest.hexdigest()


class Ingest:
    """Called by the inbox watcher with each settled path."""

    def __init__(self, inbox: Path, layout: StateLayout, store: JobStore) -> None:
        self.inbox = inbox
        self.root = inbox.resolve()
        self.layout = layout
        self.store = store
        self._refused: set[str] = set()  # non-regular files already reported

    def __call__(self, path: Path) -> Job | None:
        rel = path.relative_to(self.root) if path.is_absolute() else path.relative_to(self.inbox)
        try:
            fd = os.open(path, OPEN_FLAGS)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._refuse(path, "a symlink (never followed)")
            elif exc.errno != errno.ENOENT:
                log.warning("cannot open %s: %s", display_name(str(rel)), exc.strerror)
            return None
        try:
            return self._take(fd, path, str(rel))
        finally:
            os.close(fd)

    def _refuse(self, path: Path, what: str) -> None:
        if str(path) not in self._refused:
            self._refused.add(str(path))
            log.warning("not taken from the inbox: %s is %s", display_name(path.name), what)

    def _take(self, fd: int, path: Path, rel: str) -> Job | None:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            self._refuse(path, "not a regular file (a FIFO, socket or device)")
            return None
        earlier = self.store.failed_in_place(str(path))
        if earlier is not None and earlier.size == info.st_size and (earlier.finished or 0) >= info.st_ctime:
            return None  # recorded as failed in place, unchanged since
        digest = sha256_fd(fd)
        if os.fstat(fd).st_size != info.st_size:  # still being written after all: the next scan retries it
            return None
        name = display_name(rel)
        flat = name.replace(os.sep, "__")  # processing/, done/, failed/ hold names any tool can read
        planned = unique_path(self.layout.processing, flat)
        job = self.store.add(name, str(planned), digest, info.st_size, source=str(path), state=JobState.RECEIVED)
        try:
            moved = take_from_inbox(fd, path, self.layout.processing, planned.name)
        except Unremovable as exc:
            reason = f"{name} could not be taken from the inbox: {exc.strerror}; it was left there"
            record_failed(self.store, job, path, reason)
            self.store.event("failed", reason)
            log.error("job %d failed: %s", job.id, reason)
            return self.store.get(job.id)
        except BaseException:
            self.store.forget(job.id)
            raise
        return self._queue(job, moved)

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


def recover_received(store: JobStore, layout: StateLayout) -> None:
    """Finish what a power cut interrupted between recording a job and moving its file."""
    for job in store.received():
        target, source = Path(job.path), Path(job.source) if job.source else None
        if target.exists():
            if source is not None and source.exists() and os.path.samefile(source, target):
                source.unlink()  # linked into processing/, not yet removed from the inbox
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
