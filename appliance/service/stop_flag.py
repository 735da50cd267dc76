"""The stop request a service shares with its worker processes (and a fleet worker with its RQ loop)."""

from __future__ import annotations

import time
from multiprocessing.context import SpawnContext


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
