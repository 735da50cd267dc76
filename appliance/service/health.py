"""Is the box doing its job? Workers alive, no job stalled, room on the disks."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .footage import free_bytes
from .jobs import JobState
from .store import JobStore

MIN_FREE_BYTES = 50 * (1 << 20)  # below this on the outbox's or the state's file system: disk full


@dataclass(frozen=True)
class Health:
    workers_alive: int
    stalled_jobs: list[int] = field(default_factory=list)  # processing, no progress for half the stall timeout
    waiting_for_space: list[int] = field(default_factory=list)  # put back by a full disk
    free_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def disk_full(self) -> bool:
        return bool(self.waiting_for_space) or any(free < MIN_FREE_BYTES for free in self.free_bytes.values())

    @property
    def problems(self) -> list[str]:
        found = []
        if self.workers_alive <= 0:
            found.append("no worker running")
        if self.stalled_jobs:
            found.append(f"job(s) {', '.join(map(str, self.stalled_jobs))} stalled (no progress)")
        if self.disk_full:
            found.append("disk full")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "degraded",
            "problems": self.problems,
            "disk_full": self.disk_full,
            **asdict(self),
        }


def check(store: JobStore, workers_alive: int, stall_timeout_s: float, folders: dict[str, Path]) -> Health:
    now = time.time()
    stalled = [job.id for job in store.processing() if now - job.updated > stall_timeout_s / 2]
    waiting = [job.id for job in store.recent(limit=100, state=JobState.QUEUED) if job.waits and job.retry_at]
    free = {name: free_bytes(folder) for name, folder in folders.items() if folder.exists()}
    return Health(workers_alive, stalled, waiting, free)
