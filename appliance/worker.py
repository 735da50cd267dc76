"""A worker process: its own detector, taking queued jobs one at a time until told to stop."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import traceback
from pathlib import Path

import cv2

from .config import Settings
from .extract import Cancelled, Extractor, Progress, preview_image
from .footage import move_no_clobber, write_reason
from .jobs import Job, SqliteJobStore
from .video import InputError

log = logging.getLogger("appliance.worker")
PROGRESS_EVERY_S = 1.0


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)


class StopFlag:
    """A stop request shared with worker processes: one byte of shared memory, no lock.

    ``multiprocessing.Event`` deadlocks the service if a worker dies inside ``wait()`` (Ctrl-C
    reaches the whole process group); a plain byte cannot be left locked by a dead process.
    """

    def __init__(self, ctx) -> None:
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


def worker_main(settings: Settings, worker_id: int, stop: StopFlag, db_path: str) -> None:
    """Entry point of a worker process (spawned: TensorFlow does not survive fork)."""
    # Ctrl-C reaches every process of the group: the service decides, the worker follows its flag.
    # SIGTERM sent to the whole group (systemd's default) is a request to stop, like the flag.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    setup_logging(settings.log_level)
    os.environ.setdefault("OMP_NUM_THREADS", str(settings.threads))
    _stop_with_parent(stop)
    store = SqliteJobStore(db_path)
    extractor = Extractor(settings.extract_settings())
    log.info("worker %d ready (backend %s)", worker_id, extractor.detector.backend)
    worker = Worker(settings, worker_id, store, extractor, stop)
    while not stop.is_set():
        job = store.claim(worker_id)
        if job is None:
            stop.wait(0.5)
            continue
        worker.process(job)
    log.info("worker %d stopped", worker_id)


def _stop_with_parent(stop) -> None:
    """If the service dies (kill -9, power loss), stop too: never finish a job behind its back."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.is_set():
            if os.getppid() != parent:
                log.error("service process gone; worker exiting")
                os._exit(3)
            time.sleep(0.5)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class Worker:
    def __init__(self, settings: Settings, worker_id: int, store, extractor: Extractor, stop) -> None:
        self.settings = settings
        self.id = worker_id
        self.store = store
        self.extractor = extractor
        self.stop = stop
        state = settings.state_dir
        self.done_dir, self.failed_dir = state / "done", state / "failed"
        self.preview = state / "preview" / f"worker-{worker_id}.jpg"
        self.preview.parent.mkdir(parents=True, exist_ok=True)

    def process(self, job: Job) -> None:
        path = Path(job.path)
        log.info("job %d taken: %s (%.1f MB)", job.id, job.name, job.size / 1e6)
        started = time.monotonic()
        last = [0.0]

        def progress(state: Progress) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = now
            elapsed = max(now - started, 1e-6)
            fraction = state.fraction
            eta = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
            self.store.progress(job.id, fraction, state.tracks, state.frames_analysed,
                                state.frames_analysed / elapsed, eta)  # fmt: skip
            if state.frame is not None:
                self._write_preview(preview_image(state.frame, state.frame_faces))

        try:
            result = self.extractor.run(path, self.settings.outbox_dir, progress, self.stop, Path(job.name).stem)
        except Cancelled:
            self.store.requeue(job.id)
            log.info("job %d re-queued: service stopping", job.id)
            return
        except InputError as exc:
            self._fail(job, path, str(exc))
            return
        except Exception as exc:  # a bug or a library failure: keep the footage, say why, go on
            log.error("job %d: %s", job.id, traceback.format_exc())
            self._fail(job, path, f"internal error: {type(exc).__name__}: {exc}")
            return
        moved = move_no_clobber(path, self.done_dir)
        frames = result.manifest["stats"]["frames_analysed"]
        self.store.finish(job.id, str(moved), str(result.output), result.tracks, frames)
        log.info("job %d done: %s: %d faces in %.1f s -> %s", job.id, job.name, result.tracks,
                 time.monotonic() - started, result.output)  # fmt: skip

    def _fail(self, job: Job, path: Path, reason: str) -> None:
        moved = move_no_clobber(path, self.failed_dir) if path.exists() else path
        if moved.exists():
            write_reason(moved, reason)
        self.store.fail(job.id, str(moved), reason)
        log.warning("job %d failed: %s", job.id, reason)

    def _write_preview(self, image) -> None:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            tmp = self.preview.with_suffix(".tmp")
            tmp.write_bytes(data.tobytes())
            os.replace(tmp, self.preview)
