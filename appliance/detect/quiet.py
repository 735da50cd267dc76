"""Keep TensorFlow's and LiteRT's start-up chatter off the appliance's log."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import IO

# fd 2 belongs to the whole process: while any thread loads a net it points at one shared sink, and it
# is given back when the last one is done. (Each thread saving and restoring fd 2 on its own, two
# lanes loading interpreters at once could leave it pointing at a closed file: everything the process
# wrote to stderr after that, its log included, was lost.)
_LOCK = threading.Lock()
_depth = 0
_saved_fd = -1
_sink: IO[bytes] | None = None


@contextlib.contextmanager
def native_stderr_captured() -> Iterator[None]:
    """Send fd 2 to a temporary file while native libraries load; replay it if loading fails.

    TensorFlow's C++ start-up lines (oneDNN, CUDA probing) ignore ``TF_CPP_MIN_LOG_LEVEL``. The
    appliance's own log does not go through fd 2 (:func:`appliance.common.logs.setup_logging` writes to
    a copy of it), so no thread's log lines fall into the sink.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    _enter()
    try:
        yield
    except BaseException:
        _replay()
        raise
    finally:
        _leave()


def _enter() -> None:
    global _depth, _saved_fd, _sink
    with _LOCK:
        if _depth == 0:
            sys.stderr.flush()
            _saved_fd = os.dup(2)
            _sink = tempfile.TemporaryFile()  # noqa: SIM115 - shared by the threads inside, closed by the last
            os.dup2(_sink.fileno(), 2)
        _depth += 1


def _leave() -> None:
    global _depth, _saved_fd, _sink
    with _LOCK:
        _depth -= 1
        if _depth == 0 and _sink is not None:
            os.dup2(_saved_fd, 2)
            os.close(_saved_fd)
            _sink.close()
            _saved_fd, _sink = -1, None


def _replay() -> None:
    """What the native libraries said so far, onto the real stderr: they failed, and it says why."""
    with _LOCK:
        if _sink is None:
            return
        _sink.flush()
        with open(_sink.fileno(), "rb", closefd=False) as said:
            said.seek(0)
            os.write(_saved_fd, said.read())
