"""This box's worker processes: started, watched, restarted, stopped.

Used by ``appliance serve`` (with its inbox and page) and by ``appliance worker`` (a box that only
processes, in a fleet). A worker that dies is restarted and its job put right at once
(:class:`~appliance.service.recovery.Recovery`); one whose job makes no progress for the stall
timeout is stopped first (a hung decoder). Only this box's jobs are its business: in a fleet, a
job whose whole box went away is found by the ingest box through RQ's heartbeats.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import signal
import time
from multiprocessing.process import BaseProcess

from ..common.box import box_name
from ..settings import Settings, env_name
from .jobs import Job
from .recovery import Recovery
from .stop_flag import StopFlag
from .store import JobStore
from .worker_process import worker_main

log = logging.getLogger("appliance.service")
KILL_WAIT_S = 2.0


# settings no worker uses, and a decoder exploit must not find: the page's token, the events' credentials
WORKER_SECRETS = ("token", "mqtt", "webhooks", "webhook_secret")
PR_SET_DUMPABLE = 4


def worker_settings(settings: Settings) -> Settings:
    """What a worker is given: everything but the token and the events' credentials (the ingest box, or
    ``serve``'s main process, delivers events; workers only write them to the outbox)."""
    events = settings.events.model_copy(update={"mqtt": None, "webhooks": [], "webhook_secret": None})
    web = settings.web.model_copy(update={"token": None})
    return settings.model_copy(update={"web": web, "events": events})


def shield_from_workers() -> None:
    """Before any worker starts. Workers inherit this process's environment: the secrets they do not use
    leave it (they are in the settings already). And this process becomes non-dumpable, so that a worker
    running as the same user cannot read its memory or ``/proc/<pid>/environ`` (which keeps the
    environment the process started with, token included)."""
    for flat in WORKER_SECRETS:
        os.environ.pop(env_name(flat), None)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            log.warning("could not make the service non-dumpable: %s", os.strerror(ctypes.get_errno()))
    except (OSError, AttributeError):  # not Linux
        log.warning("could not make the service non-dumpable (no prctl here)")


class WorkerPool:
    def __init__(self, settings: Settings, store: JobStore, recovery: Recovery) -> None:
        self.settings = settings
        self.store = store
        self.recovery = recovery
        self._ctx = mp.get_context("spawn")
        self._stop = StopFlag(self._ctx)
        self._workers: dict[int, BaseProcess] = {}
        self._stalled: dict[int, int] = {}  # worker slot -> the job it was stopped for
        self.stopping = False

    def start(self) -> None:
        shield_from_workers()
        for slot in range(1, self.settings.service.workers + 1):
            self._start(slot)

    def _start(self, slot: int) -> None:
        proc = self._ctx.Process(
            target=worker_main,
            args=(worker_settings(self.settings), slot, self._stop),
            name=f"appliance-worker-{slot}",
            daemon=True,
        )
        proc.start()
        self._workers[slot] = proc

    def alive(self) -> int:
        return sum(p.is_alive() for p in self._workers.values())

    def _mine(self) -> list[Job]:
        """The jobs this box's workers are running."""
        return [
            job for job in self.store.processing() if job.host in (box_name(), None) and job.worker in self._workers
        ]

    def supervise(self) -> None:
        """One round: stop workers whose job hangs, restart dead ones and put their jobs right."""
        self._watchdog()
        for slot, proc in list(self._workers.items()):
            if proc.is_alive() or self.stopping:
                continue
            cause = self._death_cause(slot, proc.exitcode)
            log.error("worker %d exited (%s); restarting it", slot, cause)
            for job in self._mine():
                if job.worker == slot:
                    self.recovery.job(job, cause)
            self._start(slot)

    def _death_cause(self, slot: int, code: int | None) -> str:
        stalled_s = self.settings.service.stall_timeout_s
        if self._stalled.pop(slot, None) is not None:
            return f"no progress for {stalled_s:.0f} s (hung decoder?); the worker was stopped"
        if code == -signal.SIGXCPU:
            return "it used up its CPU-time budget (cpu_limit_factor)"
        if code is not None and code < 0:
            return f"the worker was killed by {signal.Signals(-code).name}"
        return f"the worker crashed (exit code {code})"

    def _watchdog(self) -> None:
        """Stop a worker whose job has made no progress for the stall timeout."""
        timeout = self.settings.service.stall_timeout_s
        now = time.time()
        for job in self._mine():
            proc = self._workers.get(job.worker or -1)
            if proc is None or not proc.is_alive() or now - job.updated <= timeout:
                continue
            log.error("job %d: no progress for %.0f s; stopping worker %d", job.id, now - job.updated, job.worker)
            self.store.tell_operator("stalled", f"job {job.id} ({job.name}) made no progress for {timeout:.0f} s")
            self._stalled[job.worker or -1] = job.id
            proc.kill()
            proc.join(KILL_WAIT_S)

    def stop(self, grace_s: float) -> None:
        """Workers re-queue their job and exit; those that do not within ``grace_s`` are killed."""
        self.stopping = True
        self._stop.set()
        deadline = time.monotonic() + grace_s
        for proc in self._workers.values():
            proc.join(timeout=max(deadline - time.monotonic(), 0.1))
        for slot, proc in self._workers.items():
            if proc.is_alive():  # stuck where it cannot see the flag (a hung decoder)
                log.error("worker %d did not stop within %.0f s; killing it", slot, grace_s)
                proc.kill()
                proc.join(timeout=KILL_WAIT_S)
        for job in self._mine():  # its worker was killed mid-job: the attempt counts
            self.recovery.job(job, "the worker did not stop when the service stopped")
