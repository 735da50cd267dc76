"""Iterate in a background thread, a few items ahead: work that releases the GIL (decoding a video)
overlaps the consumer's (detection) on a second core."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

DEPTH = 2  # items waiting for the consumer (decoded frames are large: 6 MB at 1080p)

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = DEPTH, name: str = "decode") -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` ahead.

    Decoding (FFmpeg) and detection (LiteRT, TensorFlow) both release the GIL, so on two cores the
    frames between analysed ones are decoded while the previous frame is being analysed.
    Exceptions reach the consumer; closing the iterator early stops the thread. ``name``: the thread's,
    as a profiler shows it.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer
            buffer.put((_DONE, exc))

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = buffer.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
