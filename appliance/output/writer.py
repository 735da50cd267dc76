"""Results written atomically: a hidden temporary folder in the outbox, renamed when complete.

Nothing half-written is ever visible under its final name, and an existing result is never
overwritten: a second result for the same input stem gets ``-2``, ``-3``, ... Before the rename
every file and folder is synced to disk, and the outbox after it, so a power cut never leaves a
published folder with empty crops.
"""

from __future__ import annotations

import csv
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from ..common.box import box_name
from ..common.paths import fsync_dir
from .manifest import CSV_FIELDS, CSV_NAME, MANIFEST, Manifest

PARTIAL_PREFIX = ".partial-"
STALE_PARTIAL_S = 2 * 86400  # another box's partial folder this old is from a box that died mid-job
JPEG_QUALITY = 95


def write_jpeg(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError(f"could not encode {path.name}")
    path.write_bytes(data.tobytes())


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    with open(root / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ResultWriter:
    """One input's result folder, built in a temporary folder and published by :meth:`commit`."""

    def __init__(self, out_root: str | os.PathLike[str], stem: str) -> None:
        self.root = Path(out_root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.stem = safe_stem(stem)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{box_name()}-{self.stem}-", dir=self.root))

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        """Whatever was not committed is removed: nothing half-written stays in the outbox."""
        self.abort()

    def path(self, relative: str) -> Path:
        target = self.tmp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def image(self, relative: str, image: np.ndarray) -> str:
        write_jpeg(self.path(relative), image)
        return relative

    def manifest(self, manifest: Manifest) -> None:
        """``manifest.json`` and its flat twin ``faces.csv`` (one row per track)."""
        self.path(MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        with open(self.path(CSV_NAME), "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(manifest.csv_rows())

    def commit(self) -> Path:
        """Publish under ``<stem>``, or ``<stem>-N`` if taken; returns the final folder."""
        self._sync()
        with _locked(self.root):
            n = 1
            while True:
                name = self.stem if n == 1 else f"{self.stem}-{n}"
                target = self.root / name
                if not target.exists():
                    os.rename(self.tmp, target)
                    fsync_dir(self.root)
                    return target
                n += 1

    def replace(self, name: str) -> Path:
        """Publish under exactly ``name``, replacing what is there: for work folders that a retry
        redoes (a part of a long recording), never for results in the outbox."""
        self._sync()
        target = self.root / name
        with _locked(self.root):
            old = None
            if target.exists():
                old = self.root / f"{PARTIAL_PREFIX}old-{name}-{os.getpid()}"
                os.rename(target, old)
            os.rename(self.tmp, target)
            fsync_dir(self.root)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return target

    def _sync(self) -> None:
        """Files readable by all, then each file and each folder synced, deepest first."""
        folders = [self.tmp]
        for path in sorted(self.tmp.rglob("*"), reverse=True):
            if path.is_dir():
                folders.append(path)
                continue
            path.chmod(0o644)
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        self.tmp.chmod(0o755)
        for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
            fsync_dir(folder)

    def abort(self) -> None:
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)


def safe_stem(stem: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_.+@ " else "_" for c in stem).strip(" .")
    return cleaned or "input"


def remove_partials(out_root: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary folders left by this box's interrupted runs (never a published result, never
    another box's work in progress in a shared outbox, unless it is days old)."""
    root = Path(out_root)
    removed = []
    if root.is_dir():
        mine = f"{PARTIAL_PREFIX}{box_name()}-"
        for path in root.iterdir():
            if not path.name.startswith(PARTIAL_PREFIX) or not path.is_dir():
                continue
            stale = time.time() - path.stat().st_mtime > STALE_PARTIAL_S
            if path.name.startswith(mine) or stale:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed
