"""The worker: runs one job of any kind (recording, part, merge) to a known end, whoever hands it the job.

Which loop hands it jobs (the embedded queue's polling, the fleet's RQ runs) is
:mod:`.worker_process`'s business; the worker knows neither.

A worker runs what comes from outside (FFmpeg on whatever was copied in), so it runs boxed in:
no token in its settings or environment, an address-space limit, a CPU-time budget per job in
proportion to the footage, and the service's watchdog, which stops it if its job makes no progress.
A full disk puts the job back to wait (with back-off); the footage stays in ``processing/``.

A result is built in a hidden folder of the outbox and published only if the footage is still as it
was taken: the same size as when it was hashed, and the same size and mtime as when the job began.
A writer that paused longer than ``settle_s`` where the open-for-writing check cannot see it (a
file of another user without ``CAP_LEASE``, a network share) goes on writing to the taken file (a
hard link is the same inode): such a job fails with that reason and the footage, whole once its
writer is done, waits in ``failed/``; no result of half a file is published.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import resource
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import cv2
import numpy as np

from ..common.atomic import write_atomic
from ..common.box import box_name
from ..common.paths import fsync_dir
from ..output.writer import PARTIAL_PREFIX, _locked
from ..people.index import PeopleIndex
from ..pipeline.extract import Cancelled, Extractor
from ..pipeline.parts import PART_FILE
from ..pipeline.preview import preview_image
from ..pipeline.progress import Progress
from ..pipeline.video import InputError
from ..settings import Settings
from .footage import move_no_clobber
from .jobs import Job, JobKind, JobState, LeaseLost, WorkerBeat
from .layout import StateLayout, read_plan, write_plan
from .outcome import fail_recording, record_done
from .queue import QUEUE_AWAY
from .recovery import published_output
from .stop_flag import StopFlag
from .store import JobStore

log = logging.getLogger("appliance.worker")
PROGRESS_EVERY_S = 1.0  # progress and the live preview are written at most this often
PREVIEW_JPEG_QUALITY = 80
MIN_FRACTION_FOR_ETA = 0.01  # below this, time left is a guess not worth showing
JOB_CPU_FLOOR_S = 1800.0  # the CPU budget of a job is never below this (stills, footage of unknown length)
DISK_FULL_BACKOFF = (1, 2, 4, 10, 20)  # waits before retrying a job that found the disk full, in disk_full_retry_s
BEAT_EVERY_S = 5.0  # a worker says it is alive this often (the page's list of workers)
STORAGE_CHECK_S = 5.0  # a worker that lost the shared folders looks for them again this often


def worker_name(slot: int) -> str:
    """Unique across a fleet: the box's host name and the worker's slot on it."""
    return f"{box_name()}/{slot}"


class FootageChanged(Exception):
    """The footage changed after it was taken: its writer was not done. Nothing is published."""


def check_unchanged(job: Job, path: Path, size: int, began: os.stat_result | None = None) -> os.stat_result:
    """The footage's stat, if it is still ``size`` bytes (and, given ``began``, of the same inode and mtime)."""
    now = os.stat(path)
    same = now.st_size == size
    if began is not None:
        same = same and (now.st_ino, now.st_mtime_ns) == (began.st_ino, began.st_mtime_ns)
    if not same:
        raise FootageChanged(
            f"{job.name} changed after it was taken from the inbox ({size:,} bytes when hashed, {now.st_size:,} "
            "now, or written to since the job began): its writer was not done. No result was published; the "
            "file stays in failed/, where the rest of its writes land too: put it back in the inbox once it is "
            "complete"
        )
    return now


def publish(staged: Path, outbox: Path) -> Path:
    """Move a result folder built in a hidden folder of the outbox to ``<name>`` (``-2``, ``-3``... if taken),
    under the outbox's lock, as :class:`~appliance.output.writer.ResultWriter` publishes."""
    with _locked(outbox):
        n = 1
        while True:
            target = outbox / (staged.name if n == 1 else f"{staged.name}-{n}")
            if not target.exists():
                os.rename(staged, target)
                fsync_dir(outbox)
                return target
            n += 1


class StorageLost(Exception):
    """This box cannot see the shared folders (an NFS/SMB mount gone): its jobs go to other workers."""


class Worker:
    def __init__(
        self,
        all_settings: Settings,
        layout: StateLayout,
        slot: int,
        store: JobStore,
        extractor: Extractor,
        stop: StopFlag,
        people: PeopleIndex | None = None,
    ) -> None:
        self.settings = all_settings.service
        self.events = all_settings.events
        self.people_enabled = all_settings.people.enabled
        self.people = people
        self.layout = layout
        self.slot = slot
        self.name = worker_name(slot)
        self.store = store
        self.extractor = extractor
        self.stop = stop
        self.current: int | None = None
        self.started = time.time()
        self.layout.previews.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def beating(self) -> Iterator[None]:
        """Say every few seconds that this worker is alive and what it does (the page's list of workers)."""
        done = threading.Event()

        def beat() -> None:
            while True:
                try:
                    self.store.beat(self._beat())
                except Exception as exc:  # noqa: BLE001 - the queue is away for a moment: say so next time
                    log.warning("worker %s: heartbeat not recorded: %s", self.name, exc)
                if done.wait(BEAT_EVERY_S):
                    return

        thread = threading.Thread(target=beat, name="beat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=BEAT_EVERY_S)
            with suppress(Exception):
                self.store.gone(self.name)

    def _beat(self) -> WorkerBeat:
        return WorkerBeat(
            name=self.name,
            host=box_name(),
            pid=os.getpid(),
            job=self.current,
            seen=time.time(),
            started=self.started,
            backend=self.extractor.detector.backend,
        )

    def storage_present(self) -> bool:
        return self.layout.processing.is_dir() and self.settings.outbox_dir.is_dir()

    def process(self, job: Job) -> None:
        """Run a job of any kind; whatever happens, the footage is kept and the job ends in a known state."""
        path = Path(job.path)
        log.info("job %d taken (%s): %s (%.1f MB)", job.id, job.kind, job.name, job.size / 1e6)
        self.current = job.id
        started = time.monotonic()
        try:
            if not self.storage_present():
                raise StorageLost(f"the shared folders ({self.layout.root}) are not there on {box_name()}")
            {JobKind.RECORDING: self._recording, JobKind.PART: self._part, JobKind.MERGE: self._merge}[job.kind](
                job, path, started
            )
        except Cancelled:
            self.store.requeue(job.id, give_back_attempt=True)
            log.info("job %d re-queued: service stopping", job.id)
        except StorageLost as exc:
            self._storage_lost(job, str(exc))
        except LeaseLost as exc:
            log.warning("job %d: %s; its result is left to the run that holds it", job.id, exc)
        except (InputError, FootageChanged) as exc:
            self._fail(job, path, str(exc))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                self._wait_for_space(job)
            else:
                self._internal_error(job, path, exc)
        except Exception as exc:  # a bug or a library failure: keep the footage, say why, go on
            self._internal_error(job, path, exc)
        finally:
            self._lift_cpu_budget()
            self.current = None
            self.layout.preview(job.id).unlink(missing_ok=True)

    # -- the three kinds of job --------------------------------------------------------------------
    @contextmanager
    def _staging(self, job: Job) -> Iterator[Path]:
        """A hidden folder of the outbox to build a result in (removed after; at start-up if the box died)."""
        prefix = f"{PARTIAL_PREFIX}{box_name()}-job{job.id}-"
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=self.settings.outbox_dir))
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _recording(self, job: Job, path: Path, started: float) -> None:
        began = check_unchanged(job, path, job.size)
        plan = self.extractor.plan(path, self.settings.split_s)
        if plan.split:
            work = self.layout.work(job.id, job.sha256)
            write_plan(work, plan)
            self.store.split(job.id, len(plan.parts), plan.reason)
            log.info("job %d: %s: %s", job.id, job.name, plan.reason)
            return
        with self._staging(job) as staging:
            result = self.extractor.run(
                path,
                staging,
                self._reporter(job, started),
                self.stop,
                Path(job.name).stem,
                job.sha256,
                scanned=plan.scan,
            )
            check_unchanged(job, path, job.size, began)
            output = publish(result.output, self.settings.outbox_dir)
        self._done(job, path, output, result.tracks, result.manifest.stats.frames_analysed, started)

    def _part(self, job: Job, path: Path, started: float) -> None:
        parent = self._parent(job)
        check_unchanged(parent, path, parent.size)
        work = self.layout.work(parent.id, parent.sha256)
        plan = read_plan(work)
        folder = self.extractor.run_part(path, plan, job.part or 1, work, self._reporter(job, started), self.stop)
        counts = json.loads((folder / PART_FILE).read_text())["counts"]
        merge = self.store.part_done(job.id, counts.get("frames_analysed", 0), counts.get("tracks", 0))
        log.info("job %d: part %s of %d done%s", parent.id, job.part, parent.parts, "; merge queued" if merge else "")

    def _merge(self, job: Job, path: Path, started: float) -> None:
        parent = self._parent(job)
        if parent.state is JobState.DONE:  # a merge that ran before, then was interrupted: done already
            self.store.finish(job.id, parent.path, parent.output or "", parent.faces, lease=job.lease)
            return
        work = self.layout.work(parent.id, parent.sha256)
        output = published_output(self.store, self.settings.outbox_dir, parent.sha256)
        tracks = 0
        if output is None:
            began = check_unchanged(parent, path, parent.size)
            folders = [work / f"part-{n:03d}" for n in range(1, parent.parts + 1)]
            with self._staging(job) as staging:
                result = self.extractor.merge(
                    path, read_plan(work), folders, staging, Path(parent.name).stem, parent.sha256
                )
                check_unchanged(parent, path, parent.size, began)
                output = publish(result.output, self.settings.outbox_dir)
            tracks = result.tracks
        self._done(parent, path, output, tracks, 0, started)
        self.store.finish(job.id, str(path), str(output), 0, lease=job.lease)
        shutil.rmtree(work, ignore_errors=True)

    def _parent(self, job: Job) -> Job:
        parent = self.store.get(job.parent) if job.parent is not None else None
        if parent is None:
            raise RuntimeError(f"job {job.id} belongs to a recording ({job.parent}) the queue no longer has")
        return parent

    def _done(self, job: Job, path: Path, output: Path, tracks: int, frames: int, started: float) -> None:
        """The recording is done: footage to ``done/``, the job finished with its events (people indexed here,
        or by the ingest box in a fleet)."""
        moved = move_no_clobber(path, self.layout.done)
        pending = self.people is None and self.people_enabled
        record_done(self.store, self.people, self.events, job, moved, output, frames, pending)
        elapsed = time.monotonic() - started
        log.info("job %d done: %s: %d faces in %.1f s -> %s", job.id, job.name, tracks, elapsed, output)

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
            try:
                self.store.progress(job.id, fraction, state.tracks, state.frames_analysed, fps, eta, state.scan_summary)
            except QUEUE_AWAY as exc:  # progress is best effort: the next report says it again
                log.warning("job %d: progress not recorded: %s", job.id, exc)
            if state.frame is not None:
                self._write_preview(job, preview_image(state.frame, state.frame_faces))

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
        self.store.tell_operator("disk full", message)
        log.error("%s", message)

    def _internal_error(self, job: Job, path: Path, exc: BaseException) -> None:
        log.error("job %d: %s", job.id, traceback.format_exc())
        self._fail(job, path, f"internal error: {type(exc).__name__}: {exc}")

    def _fail(self, job: Job, path: Path, reason: str) -> None:
        """The footage to ``failed/`` with its reason; a part or merge fails its whole recording."""
        fail_recording(self.store, self.layout, job, path, reason)
        log.warning("job %d failed: %s", job.id, reason)

    def _storage_lost(self, job: Job, reason: str) -> None:
        """Back to the queue for another worker (the attempt counts); this one waits for the folders."""
        self.store.requeue(job.id, error=reason)
        self.store.tell_operator("storage", f"job {job.id} ({job.name}) handed back: {reason}")
        log.error("job %d handed back: %s", job.id, reason)
        while not self.stop.is_set() and not self.storage_present():
            self.stop.wait(STORAGE_CHECK_S)

    def _write_preview(self, job: Job, image: np.ndarray) -> None:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_JPEG_QUALITY])
        if ok:
            write_atomic(self.layout.preview(job.id), data.tobytes())
