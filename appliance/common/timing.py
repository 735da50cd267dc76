"""Where an extraction's time goes: seconds summed per named step, for the manifest and the benchmark.

The steps are timed where they run (the cascade times its nets, the pipeline its stages) without
passing a clock through every call: the extraction makes a :class:`StepClock` current for its thread
(a context variable), and :func:`step` adds to whichever clock is current, or does nothing. A thread
of its own (the decoder) is handed the clock explicitly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_current: ContextVar[StepClock | None] = ContextVar("step_clock", default=None)


class StepClock:
    """Seconds per step; steps may nest (``detect`` holds ``pnet``) and run in several threads at once (the
    detector's lanes: ``pnet`` is summed over both), so they do not add up to the wall time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()  # the detector's lanes add from two threads at once

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @contextmanager
    def current(self) -> Iterator[StepClock]:
        """Make this the clock that :func:`step` adds to, in this thread, for the ``with`` block."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    def timed(self, name: str, items: Iterable[T]) -> Iterator[T]:
        """``items``, with the time spent producing each one added to ``name``."""
        iterator = iter(items)
        while True:
            started = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                self.add(name, time.perf_counter() - started)
                return
            self.add(name, time.perf_counter() - started)
            yield item

    def milliseconds(self) -> dict[str, int]:
        return {name: int(round(seconds * 1000)) for name, seconds in sorted(self.seconds.items())}


@contextmanager
def step(name: str) -> Iterator[None]:
    """Time the block into the current clock (none current: nothing is measured)."""
    clock = _current.get()
    if clock is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        clock.add(name, time.perf_counter() - started)
