"""The inbox: notice files once they are completely written, and hand each over exactly once.

watchdog's native observer (inotify on Linux) reports changes as they happen; polling is the
option for NFS/SMB/bind mounts, where inotify misses writes made by other machines
(gorakhargosh/watchdog#877). A full scan at start-up and every ``scan_interval_s`` catches
anything both missed. A file is taken only after its size and mtime have not changed for
``settle_s``. Close-after-write events are not trusted alone: copy tools that write in chunks
close and reopen the file, and files moved in or found by a scan have none.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from ..common.paths import inside_without_symlinks
from .footage import REASON_SUFFIX

log = logging.getLogger("appliance.watch")

TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", ".filepart", "~")
LOOP_INTERVAL_S = 0.5  # how often settled files are looked for
JOIN_TIMEOUT_S = 5.0


def is_temporary(path: Path) -> bool:
    """Names that copy tools use while writing, and hidden files: never taken."""
    name = path.name
    return name.startswith(".") or name.lower().endswith(TEMP_SUFFIXES) or name.endswith(REASON_SUFFIX)


@dataclass
class _Candidate:
    size: int
    mtime: float
    stable_since: float


class InboxWatcher:
    """Calls ``on_ready(path)`` for each complete file in ``inbox`` (in its own thread)."""

    def __init__(
        self,
        inbox: Path,
        on_ready: Callable[[Path], object],
        settle_s: float = 3.0,
        scan_interval_s: float = 30.0,
        polling: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inbox = Path(inbox)
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.root = self.inbox.resolve()
        self.on_ready = on_ready
        self.settle_s = settle_s
        self.scan_interval_s = scan_interval_s
        self.polling = polling
        self.clock = clock
        self._pending: dict[Path, _Candidate] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = PollingObserver(timeout=1.0) if polling else Observer()
        self._thread = threading.Thread(target=self._loop, name="inbox", daemon=True)

    # -- watchdog side ---------------------------------------------------------------------
    def _notice(self, raw: str | bytes) -> None:
        path = Path(os.fsdecode(raw))
        if is_temporary(path) or not self._inside(path):
            return
        with self._lock:
            self._pending.setdefault(path, _Candidate(-1, -1.0, self.clock()))

    def _inside(self, path: Path) -> bool:
        """A regular file in the inbox tree, reached without a symlink."""
        try:
            rel = path.relative_to(self.inbox) if not path.is_absolute() else path.relative_to(self.root)
            found = inside_without_symlinks(self.root, rel)
            return found is not None and found.is_file()
        except (OSError, ValueError):
            return False

    class _Handler(FileSystemEventHandler):
        def __init__(self, watcher: InboxWatcher) -> None:
            self.w = watcher

        def on_created(self, event: FileSystemEvent) -> None:
            if not event.is_directory:
                self.w._notice(event.src_path)

        def on_modified(self, event: FileSystemEvent) -> None:
            if not event.is_directory:
                self.w._notice(event.src_path)

        def on_moved(self, event: FileSystemEvent) -> None:
            if not event.is_directory:
                self.w._notice(event.dest_path)

        def on_closed(self, event: FileSystemEvent) -> None:
            self.w._notice(event.src_path)

    # -- our side --------------------------------------------------------------------------
    def scan(self) -> None:
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                self._notice(os.path.join(dirpath, name))

    def check(self) -> list[Path]:
        """Hand over the candidates that have settled; returns them."""
        now = self.clock()
        ready = []
        with self._lock:
            for path, cand in list(self._pending.items()):
                try:
                    st = path.lstat()  # the name itself: a swap for a symlink or FIFO changes it
                except FileNotFoundError:
                    del self._pending[path]
                    continue
                if (st.st_size, st.st_mtime) != (cand.size, cand.mtime):
                    cand.size, cand.mtime, cand.stable_since = st.st_size, st.st_mtime, now
                    continue
                if now - cand.stable_since >= self.settle_s:
                    ready.append(path)
                    del self._pending[path]
        for path in ready:
            try:
                self.on_ready(path)
            except Exception:  # one bad file never stops the inbox
                log.exception("could not take %s", path)
        return ready

    def _loop(self) -> None:
        last_scan = self.clock()
        while not self._stop.wait(LOOP_INTERVAL_S):
            if self.clock() - last_scan >= self.scan_interval_s:
                self.scan()
                last_scan = self.clock()
            self.check()

    def start(self) -> None:
        self._observer.schedule(self._Handler(self), str(self.root), recursive=True)
        self._observer.start()
        self.scan()
        self._thread.start()
        mode = "polling" if self.polling else "native"
        log.info("watching %s (%s, settle %.1f s)", self.inbox, mode, self.settle_s)

    def stop(self) -> None:
        self._stop.set()
        self._observer.stop()
        self._observer.join(timeout=JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            self._thread.join(timeout=JOIN_TIMEOUT_S)
