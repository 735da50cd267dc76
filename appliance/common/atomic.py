"""One way to replace a file crash-safely: write a hidden temporary file beside it, sync it, rename it over
the old one, sync the folder. A reader sees the old file or the new one, never half of one, and after a
power cut the new one is there if the call returned."""

from __future__ import annotations

import os
import tempfile
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
