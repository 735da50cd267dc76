"""``appliance serve``: the inbox watcher, the worker processes and the web server in one process tree.

Start-up recovers from a crash first: partial results are removed, jobs left ``processing`` are
finished from their published result if one exists, else re-run from scratch (so each input has
exactly one output), and given up as failed after :data:`~appliance.service.jobs.MAX_ATTEMPTS`
crashes on the same file.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import secrets
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from ..common.hashing import sha256_file
from ..output.manifest import read_manifest
from ..output.writer import remove_partials
from ..settings import Settings
from .footage import move_no_clobber, write_reason
from .jobs import MAX_ATTEMPTS, Job, JobStore
from .layout import StateLayout
from .queue.sqlite import SqliteJobStore
from .retention import apply_retention
from .watch import InboxWatcher
from .worker import StopFlag, worker_main

log = logging.getLogger("appliance.service")
RETENTION_EVERY_S = 600.0
SUPERVISE_EVERY_S = 1.0  # worker liveness and retention are checked this often
STOP_GRACE_S = 7.0  # workers get this long to re-queue their job and exit (container stop: 10 s)
TERMINATE_WAIT_S = 2.0
HTTP_THREADS = 4
SECRET_KEY_BYTES = 32


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        svc = settings.service
        self.inbox, self.outbox = svc.inbox_dir, svc.outbox_dir
        self.layout = StateLayout(svc.state_dir).create()
        for folder in (self.inbox, self.outbox):
            folder.mkdir(parents=True, exist_ok=True)
        self.store: JobStore = SqliteJobStore(self.layout.database)
        self._ctx = mp.get_context("spawn")
        self._stop_workers = StopFlag(self._ctx)
        self._workers: dict[int, BaseProcess] = {}
        self._stopping = threading.Event()
        self._stop_requested = threading.Event()
        self.watcher = InboxWatcher(self.inbox, self.ingest, svc.settle_s, svc.scan_interval_s, svc.polling)
        self._server: Any = None
        self.port = 0

    # -- inbox -> queue ----------------------------------------------------------------------
    def ingest(self, path: Path) -> Job | None:
        """Take a settled inbox file: hash it, move it to processing/, queue it (or mark duplicate)."""
        if self._stopping.is_set():
            return None
        name = str(path.relative_to(self.inbox.resolve()) if path.is_absolute() else path.relative_to(self.inbox))
        size = path.stat().st_size
        digest = sha256_file(path)
        if path.stat().st_size != size:  # still being written after all: the next scan retries it
            return None
        flat = name.replace(os.sep, "__")
        moved = move_no_clobber(path, self.layout.processing, flat)
        job = self.store.add(name, str(moved), digest, size)
        original = self.store.find_active_or_done(digest)
        if original is not None and original.id != job.id:
            kept = move_no_clobber(moved, self.layout.done)
            self.store.mark_duplicate(job.id, original.id, str(kept))
            log.info("job %d: %s is a duplicate of job %d (same sha256); not re-run", job.id, name, original.id)
        else:
            log.info("job %d queued: %s (%.1f MB)", job.id, name, size / 1e6)
        return job

    # -- recovery ----------------------------------------------------------------------------
    def recover(self) -> None:
        for partial in remove_partials(self.outbox):
            log.info("removed partial result %s", partial.name)
        for job in self.store.processing():
            self._recover_job(job)

    def _recover_job(self, job: Job) -> None:
        output = self._published_output(job)
        footage = Path(job.path)
        if output is not None:
            kept = move_no_clobber(footage, self.layout.done) if footage.exists() else footage
            manifest = read_manifest(output)
            tracks, frames = (len(manifest.tracks), manifest.stats.frames_analysed) if manifest else (0, 0)
            self.store.finish(job.id, str(kept), str(output), tracks, frames)
            log.info("job %d: result %s was published before the interruption; marked done", job.id, output)
        elif not footage.exists():
            self.store.fail(job.id, str(footage), "footage missing after an interruption")
            log.error("job %d: footage %s is missing", job.id, footage)
        elif job.attempts >= MAX_ATTEMPTS:
            reason = f"the worker crashed {job.attempts} times on this file"
            moved = move_no_clobber(footage, self.layout.failed)
            write_reason(moved, reason)
            self.store.fail(job.id, str(moved), reason)
            log.error("job %d failed: %s", job.id, reason)
        else:
            self.store.requeue(job.id)
            log.info("job %d re-queued after an interruption: %s", job.id, job.name)

    def _published_output(self, job: Job) -> Path | None:
        """A result for this job's content that no finished job owns (published, then crashed)."""
        owned = self.store.outputs()
        for folder in sorted(self.outbox.iterdir()):
            if folder.name.startswith(".") or str(folder) in owned:
                continue
            manifest = read_manifest(folder)
            if manifest is not None and manifest.source.sha256 == job.sha256:
                return folder
        return None

    # -- workers -----------------------------------------------------------------------------
    def _start_worker(self, worker_id: int) -> None:
        proc = self._ctx.Process(
            target=worker_main,
            args=(self.settings, worker_id, self._stop_workers),
            name=f"appliance-worker-{worker_id}",
            daemon=True,
        )
        proc.start()
        self._workers[worker_id] = proc

    def _check_workers(self) -> None:
        for worker_id, proc in list(self._workers.items()):
            if proc.is_alive() or self._stopping.is_set():
                continue
            log.error("worker %d exited (code %s); restarting it", worker_id, proc.exitcode)
            for job in self.store.processing():
                if job.worker == worker_id:
                    self._recover_job(job)
            self._start_worker(worker_id)

    def workers_alive(self) -> int:
        return sum(p.is_alive() for p in self._workers.values())

    # -- lifecycle ---------------------------------------------------------------------------
    def secret_key(self) -> bytes:
        path = self.layout.secret_key
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(SECRET_KEY_BYTES))
        return path.read_bytes()

    def start(self) -> None:
        from waitress import create_server

        from ..web import create_app

        self.recover()
        for worker_id in range(1, self.settings.service.workers + 1):
            self._start_worker(worker_id)
        self.watcher.start()
        app = create_app(self.settings, self.store, service=self)
        web = self.settings.web
        self._server = create_server(app, host=web.host, port=web.port, threads=HTTP_THREADS, ident="appliance")
        self.port = self._server.effective_port
        threading.Thread(target=self._server.run, name="http", daemon=True).start()
        log.info("status page on http://%s:%s/ (inbox %s, outbox %s)", web.host, self.port, self.inbox, self.outbox)

    def request_stop(self) -> None:
        """Safe from a signal handler: :meth:`run` returns, then the caller runs :meth:`stop`."""
        self._stop_requested.set()

    def run(self) -> None:
        """Until :meth:`request_stop`: watch the workers, apply retention."""
        last_retention = 0.0
        while not self._stop_requested.wait(SUPERVISE_EVERY_S):
            self._check_workers()
            if time.monotonic() - last_retention > RETENTION_EVERY_S:
                last_retention = time.monotonic()
                try:
                    apply_retention(self.settings.retention, self.outbox, self.layout.done, self.store)
                except OSError:
                    log.exception("retention failed")

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop taking files, let workers re-queue their job and exit, stop the web server."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        log.info("stopping")
        self.watcher.stop()
        self._stop_workers.set()
        deadline = time.monotonic() + grace_s
        for proc in self._workers.values():
            proc.join(timeout=max(deadline - time.monotonic(), 0.1))
        for proc in self._workers.values():
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=TERMINATE_WAIT_S)
        for job in self.store.processing():  # a worker killed mid-job: its job runs again next time
            self.store.requeue(job.id)
            log.info("job %d re-queued", job.id)
        remove_partials(self.outbox)
        if self._server is not None:
            self._server.close()
        log.info("stopped")
