"""Retention: off by default; when configured, the oldest results and old processed footage go, logged.

Failed footage is never deleted (a person should look at it); neither is anything still being written.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from ..people.index import PeopleIndex
from ..settings import RetentionSettings
from .store import JobStore

log = logging.getLogger("appliance.retention")
DAY_S = 86400.0
GB = 1e9


def _results(outbox: Path) -> list[Path]:
    """Published result folders, oldest first (hidden names are partial results, never touched)."""
    folders = (p for p in outbox.iterdir() if p.is_dir() and not p.name.startswith("."))
    return sorted(folders, key=lambda p: p.stat().st_mtime)


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def apply_retention(
    settings: RetentionSettings, outbox: Path, done: Path, store: JobStore, people: PeopleIndex | None = None
) -> None:
    """Purge what the settings say is too old or too much; a purged result's faces leave the people index."""
    now = time.time()
    results = _results(outbox)

    def purge(folder: Path, why: str) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        if people is not None:
            people.forget_recording(folder.name)
        _record(store, f"removed result {folder.name} ({why})")
        results.remove(folder)

    if settings.outbox_days > 0:
        for folder in [p for p in results if now - p.stat().st_mtime > settings.outbox_days * DAY_S]:
            purge(folder, f"older than {settings.outbox_days:g} days")
    if settings.outbox_gb > 0:
        sizes = {p: _size(p) for p in results}
        total = sum(sizes.values())
        for folder in list(results):
            if total <= settings.outbox_gb * GB:
                break
            total -= sizes[folder]
            purge(folder, f"outbox over {settings.outbox_gb:g} GB")
    if settings.done_days > 0:
        for footage in done.iterdir():
            if footage.is_file() and now - footage.stat().st_mtime > settings.done_days * DAY_S:
                footage.unlink()
                _record(store, f"deleted processed footage {footage.name} (older than {settings.done_days:g} days)")


def _record(store: JobStore, message: str) -> None:
    log.info("retention: %s", message)
    store.tell_operator("retention", message)
