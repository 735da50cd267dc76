"""A worker process: its own detector, taking queued jobs one at a time until told to stop.

A worker runs what comes from outside (FFmpeg on whatever was copied in), so it runs boxed in:
no token in its settings or environment, an address-space limit, a CPU-time budget per job in
proportion to the footage, and the service's watchdog, which stops it if its job makes no progress.
A full disk puts the job back to wait (with back-off); the footage stays in ``processing/``.
"""

from __future__ import annotations

import errno
import logging
import os
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.context import SpawnContext
from pathlib import Path

import cv2
import numpy as np

from ..common.logs import setup_logging
from ..people.index import PeopleIndex
from ..pipeline.extract import Cancelled, Extractor, Progress
from ..pipeline.preview import preview_image
from ..pipeline.video import InputError
from ..settings import Settings
from .footage import move_no_clobber, write_reason
from .jobs import Job, JobStore
from .layout import StateLayout
from .notify import record_done, record_failed
from .queue.sqlite import SqliteJobStore

log = logging.getLogger("appliance.worker")
PROGRESS_EVERY_S = 1.0  # progress and the live preview are written at most this often
IDLE_POLL_S = 0.5  # an idle worker looks for a job this often
PARENT_CHECK_S = 0.5
PREVIEW_JPEG_QUALITY = 80
MIN_FRACTION_FOR_ETA = 0.01  # below this, time left is a guess not worth showing
JOB_CPU_FLOOR_S = 1800.0  # the CPU budget of a job is never below this (stills, footage of unknown length)
DISK_FULL_BACKOFF = (1, 2, 4, 10, 20)  # waits before retrying a job that found the disk full, in disk_full_retry_s
MB = 1 << 20


class StopFlag:
    """A stop request shared with worker processes: one byte of shared memory, no lock.

    ``multiprocessing.Event`` deadlocks the service if a worker dies inside ``wait()`` (Ctrl-C
    reaches the whole process group); a plain byte cannot be left locked by a dead process.
    """

    def __init__(self, ctx: SpawnContext) -> None:
        self._value = ctx.Value("b", 0, lock=False)

    def set(self) -> None:
        self._value.value = 1

    def is_set(self) -> bool:
        return bool(self._value.value)

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set() and time.monotonic() < deadline:
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))
        return self.is_set()


def limit_address_space(megabytes: int) -> None:
    if megabytes > 0:
        limit = megabytes * MB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def worker_main(settings: Settings, worker_id: int, stop: StopFlag) -> None:
    """Entry point of a worker process (spawned: TensorFlow does not survive fork)."""
    # Ctrl-C reaches every process of the group: the service decides, the worker follows its flag.
    # SIGTERM sent to the whole group (systemd's default) is a request to stop, like the flag.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    setup_logging(settings.service.log_level)
    os.environ.setdefault("OMP_NUM_THREADS", str(settings.extract.threads))
    _stop_with_parent(stop)
    layout = StateLayout(settings.service.state_dir)
    store = SqliteJobStore(layout.database)
    extractor = Extractor(settings.extract, motion=settings.motion, scan=settings.scan, people=settings.people)
    limit_address_space(settings.service.worker_memory_mb)  # after the nets are loaded: they map a lot once
    log.info("worker %d ready (backend %s)", worker_id, extractor.detector.backend)
    people = PeopleIndex(layout.people_database, settings.people.threshold) if settings.people.enabled else None
    worker = Worker(settings, layout, worker_id, store, extractor, stop, people)
    while not stop.is_set():
        job = store.claim(worker_id)
        if job is None:
            stop.wait(IDLE_POLL_S)
            continue
        worker.process(job)
    log.info("worker %d stopped", worker_id)


def _stop_with_parent(stop: StopFlag) -> None:
    """If the service dies (kill -9, power loss), stop too: never finish a job behind its back."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.is_set():
            if os.getppid() != parent:
                log.error("service process gone; worker exiting")
                os._exit(3)
            time.sleep(PARENT_CHECK_S)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class Worker:
    def __init__(
        self,
        all_settings: Settings,
        layout: StateLayout,
        worker_id: int,
        store: JobStore,
        extractor: Extractor,
        stop: StopFlag,
        people: PeopleIndex | None = None,
    ) -> None:
        self.settings = all_settings.service
        self.events = all_settings.events
        self.people = people
        self.layout = layout
        self.id = worker_id
        self.store = store
        self.extractor = extractor
        self.stop = stop
        self.preview = layout.preview(worker_id)
        self.preview.parent.mkdir(parents=True, exist_ok=True)

    def process(self, job: Job) -> None:
        path = Path(job.path)
        log.info("job %d taken: %s (%.1f MB)", job.id, job.name, job.size / 1e6)
        started = time.monotonic()
        try:
            result = self.extractor.run(
                path, self.settings.outbox_dir, self._reporter(job, started), self.stop, Path(job.name).stem, job.sha256
            )
        except Cancelled:
            self.store.requeue(job.id, give_back_attempt=True)
            log.info("job %d re-queued: service stopping", job.id)
            return
        except InputError as exc:
            self._fail(job, path, str(exc))
            return
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                self._wait_for_space(job)
                return
            self._internal_error(job, path, exc)
            return
        except Exception as exc:  # a bug or a library failure: keep the footage, say why, go on
            self._internal_error(job, path, exc)
            return
        finally:
            self._lift_cpu_budget()
        moved = move_no_clobber(path, self.layout.done)
        record_done(
            self.store, self.people, self.events, job, moved, result.output, result.manifest.stats.frames_analysed
        )
        elapsed = time.monotonic() - started
        log.info("job %d done: %s: %d faces in %.1f s -> %s", job.id, job.name, result.tracks, elapsed, result.output)

    def _reporter(self, job: Job, started: float) -> Callable[[Progress], None]:
        """A progress callback that writes the job's progress and the live preview, at most once a second.

        The first call also sets the job's CPU budget, now that the footage's length is known.
        """
        last = [0.0]
        budget_set = [False]

        def report(state: Progress) -> None:
            if not budget_set[0]:
                budget_set[0] = True
                self._set_cpu_budget(state.duration_s)
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = now
            elapsed = max(now - started, 1e-6)
            fraction = state.fraction
            eta = elapsed * (1 - fraction) / fraction if fraction > MIN_FRACTION_FOR_ETA else None
            fps = state.frames_analysed / elapsed
            self.store.progress(job.id, fraction, state.tracks, state.frames_analysed, fps, eta, state.scan_summary)
            if state.frame is not None:
                self._write_preview(preview_image(state.frame, state.frame_faces))

        return report

    def _set_cpu_budget(self, duration_s: float) -> None:
        """RLIMIT_CPU for this job: past it the kernel stops the worker (SIGXCPU) and the service takes over."""
        if self.settings.cpu_limit_factor <= 0:
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = used.ru_utime + used.ru_stime
        budget = max(JOB_CPU_FLOOR_S, self.settings.cpu_limit_factor * duration_s)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(spent + budget)
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))

    @staticmethod
    def _lift_cpu_budget() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))

    def _wait_for_space(self, job: Job) -> None:
        wait = self.settings.disk_full_retry_s * DISK_FULL_BACKOFF[min(job.waits, len(DISK_FULL_BACKOFF) - 1)]
        self.store.requeue(job.id, give_back_attempt=True, retry_at=time.time() + wait)
        message = f"disk full while processing job {job.id} ({job.name}); it waits {wait:.0f} s, the footage is kept"
        self.store.event("disk full", message)
        log.error("%s", message)

    def _internal_error(self, job: Job, path: Path, exc: BaseException) -> None:
        log.error("job %d: %s", job.id, traceback.format_exc())
        self._fail(job, path, f"internal error: {type(exc).__name__}: {exc}")

    def _fail(self, job: Job, path: Path, reason: str) -> None:
        moved = move_no_clobber(path, self.layout.failed) if path.exists() else path
        if moved.exists():
            write_reason(moved, reason)
        record_failed(self.store, job, moved, reason)
        log.warning("job %d failed: %s", job.id, reason)

    def _write_preview(self, image: np.ndarray) -> None:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_JPEG_QUALITY])
        if ok:
            tmp = self.preview.with_suffix(".tmp")
            tmp.write_bytes(data.tobytes())
            os.replace(tmp, self.preview)
