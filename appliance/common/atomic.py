"""One way to replace a file crash-safely: write a hidden temporary file beside it, sync it, rename it over
the old one, sync the folder. A reader sees the old file or the new one, never half of one, and after a
power cut the new one is there if the call returned. :func:`write_atomic` for bytes in hand,
:func:`atomic_output` for a file another writer makes (PyAV, an ffmpeg process)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .paths import fsync_dir


def write_atomic(path: Path, data: bytes | str, mode: int = 0o644) -> Path:
    """``data`` (text is written as UTF-8) into ``path``, replacing it whole; the file gets ``mode``."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


@contextmanager
def atomic_output(path: Path, suffix: str = "") -> Iterator[Path]:
    """A hidden name beside ``path`` for a writer that opens the file itself; when the block ends without
    error, what it wrote is synced and renamed over ``path`` and the folder synced, as in
    :func:`write_atomic`; when the block fails, the half-written file is removed and ``path`` untouched.

    ``suffix``: for a writer that picks its format by the name's ending (ffmpeg).
    """
    writing = path.with_name(f".{path.name}.writing{suffix}")
    try:
        yield writing
        fd = os.open(writing, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(writing, path)
        fsync_dir(path.parent)
    finally:
        writing.unlink(missing_ok=True)
