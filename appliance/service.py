"""``appliance serve``: the inbox watcher, the worker processes and the web server in one process tree.

Start-up recovers from a crash first: partial results are removed, jobs left ``processing`` are
finished from their published result if one exists, else re-run from scratch (so each input has
exactly one output), and given up as failed after three crashes on the same file.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import secrets
import shutil
import threading
import time
from pathlib import Path

from .config import Settings
from .extract import sha256_file
from .footage import move_no_clobber, write_reason
from .jobs import Job, SqliteJobStore
from .outbox import remove_partials
from .watch import InboxWatcher
from .worker import StopFlag, worker_main

log = logging.getLogger("appliance.service")
MAX_ATTEMPTS = 3
RETENTION_EVERY_S = 600.0


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.inbox, self.outbox, self.state = settings.inbox_dir, settings.outbox_dir, settings.state_dir
        for folder in (self.inbox, self.outbox, *(self.state / d for d in ("processing", "done", "failed"))):
            folder.mkdir(parents=True, exist_ok=True)
        self.processing_dir = self.state / "processing"
        self.done_dir, self.failed_dir = self.state / "done", self.state / "failed"
        self.db_path = str(self.state / "jobs.sqlite")
        self.store = SqliteJobStore(self.db_path)
        self._ctx = mp.get_context("spawn")
        self._stop_workers = StopFlag(self._ctx)
        self._workers: dict[int, mp.process.BaseProcess] = {}
        self._stopping = threading.Event()
        self._stop_requested = threading.Event()
        self.watcher = InboxWatcher(self.inbox, self.ingest, settings.settle_s, settings.scan_interval_s,
                                    settings.polling)  # fmt: skip
        self._server = None
        self.started = time.time()

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
        moved = move_no_clobber(path, self.processing_dir, flat)
        job = self.store.add(name, str(moved), digest, size)
        original = self.store.find_done_by_sha(digest)
        if original is not None and original.id != job.id:
            kept = move_no_clobber(moved, self.done_dir)
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
            kept = move_no_clobber(footage, self.done_dir) if footage.exists() else footage
            manifest = json.loads((output / "manifest.json").read_text())
            frames = manifest.get("stats", {}).get("frames_analysed", 0)
            self.store.finish(job.id, str(kept), str(output), len(manifest.get("tracks", [])), frames)
            log.info("job %d: result %s was published before the interruption; marked done", job.id, output)
        elif not footage.exists():
            self.store.fail(job.id, str(footage), "footage missing after an interruption")
            log.error("job %d: footage %s is missing", job.id, footage)
        elif job.attempts >= MAX_ATTEMPTS:
            reason = f"the worker crashed {job.attempts} times on this file"
            moved = move_no_clobber(footage, self.failed_dir)
            write_reason(moved, reason)
            self.store.fail(job.id, str(moved), reason)
            log.error("job %d failed: %s", job.id, reason)
        else:
            self.store.requeue(job.id)
            log.info("job %d re-queued after an interruption: %s", job.id, job.name)

    def _published_output(self, job: Job) -> Path | None:
        """A result for this job's content that no finished job owns (published, then crashed)."""
        owned = {j.output for j in self.store.list(limit=100000, state="done")}
        for folder in sorted(self.outbox.iterdir()):
            manifest = folder / "manifest.json"
            if folder.name.startswith(".") or str(folder) in owned or not manifest.is_file():
                continue
            try:
                data = json.loads(manifest.read_text())
            except (OSError, ValueError):
                continue
            if data.get("source", {}).get("sha256") == job.sha256:
                return folder
        return None

    # -- workers -----------------------------------------------------------------------------
    def _start_worker(self, worker_id: int) -> None:
        proc = self._ctx.Process(
            target=worker_main, args=(self.settings, worker_id, self._stop_workers, self.db_path),
            name=f"appliance-worker-{worker_id}", daemon=True,
        )  # fmt: skip
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

    # -- retention ---------------------------------------------------------------------------
    def apply_retention(self) -> None:
        s = self.settings
        now = time.time()
        results = sorted(
            (p for p in self.outbox.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
        )
        if s.retention_outbox_days > 0:
            for folder in [p for p in results if now - p.stat().st_mtime > s.retention_outbox_days * 86400]:
                self._purge(folder, f"older than {s.retention_outbox_days:g} days")
                results.remove(folder)
        if s.retention_outbox_gb > 0:
            sizes = {p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in results}
            total = sum(sizes.values())
            for folder in results:
                if total <= s.retention_outbox_gb * 1e9:
                    break
                total -= sizes[folder]
                self._purge(folder, f"outbox over {s.retention_outbox_gb:g} GB")
        if s.retention_done_days > 0:
            for footage in self.done_dir.iterdir():
                if footage.is_file() and now - footage.stat().st_mtime > s.retention_done_days * 86400:
                    footage.unlink()
                    message = f"deleted processed footage {footage.name} (older than {s.retention_done_days:g} days)"
                    log.info("retention: %s", message)
                    self.store.event("retention", message)

    def _purge(self, folder: Path, why: str) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        message = f"removed result {folder.name} ({why})"
        log.info("retention: %s", message)
        self.store.event("retention", message)

    # -- lifecycle ---------------------------------------------------------------------------
    def secret_key(self) -> bytes:
        path = self.state / "secret.key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(32))
        return path.read_bytes()

    def start(self) -> None:
        from waitress import create_server

        from .web import create_app

        self.recover()
        for worker_id in range(1, self.settings.workers + 1):
            self._start_worker(worker_id)
        self.watcher.start()
        app = create_app(self.settings, self.store, service=self)
        self._server = create_server(app, host=self.settings.host, port=self.settings.port, threads=4,
                                     ident="appliance")  # fmt: skip
        self.port = self._server.effective_port
        threading.Thread(target=self._server.run, name="http", daemon=True).start()
        log.info("status page on http://%s:%s/ (inbox %s, outbox %s)", self.settings.host, self.port,
                 self.inbox, self.outbox)  # fmt: skip

    def request_stop(self) -> None:
        """Safe from a signal handler: :meth:`run` returns, then the caller runs :meth:`stop`."""
        self._stop_requested.set()

    def run(self) -> None:
        """Until :meth:`request_stop`: watch the workers, apply retention."""
        last_retention = 0.0
        while not self._stop_requested.wait(1.0):
            self._check_workers()
            if time.monotonic() - last_retention > RETENTION_EVERY_S:
                last_retention = time.monotonic()
                try:
                    self.apply_retention()
                except OSError:
                    log.exception("retention failed")

    def stop(self, grace_s: float = 7.0) -> None:
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
                proc.join(timeout=2)
        for job in self.store.processing():  # a worker killed mid-job: its job runs again next time
            self.store.requeue(job.id)
            log.info("job %d re-queued", job.id)
        remove_partials(self.outbox)
        if self._server is not None:
            self._server.close()
        log.info("stopped")
