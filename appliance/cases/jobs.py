"""Exports started from the page: each runs in a process of its own, never in the page's thread.

The page asks for a case; :class:`CaseJobs` writes the request under ``state/cases/<id>/``, starts a
process (spawned: no copy of the page's threads or sockets) that runs the same export as ``appliance
export``, limited to the workers' memory, and reports its progress to ``status.json`` there (written
atomically). One export runs at a time (the box has few cores and the footage is being analysed);
a second is refused with a reason. The zip stays in ``state/cases/<id>/`` for the page to hand out,
for a week (it holds footage of people): older exports are deleted when the next one starts.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.paths import fsync_dir
from ..settings import Settings
from .package import sweep_leftovers
from .redact import Redact

STATUS = "status.json"
KEEP_S = 7 * 86400  # an export's zip is handed out for this long
JOB_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")


class ExportBusy(Exception):
    """An export is running already."""


@dataclass(frozen=True)
class CaseJob:
    id: str
    folder: Path

    @property
    def zip(self) -> Path:
        return self.folder / f"case-{self.id}.zip"

    def status(self) -> dict[str, Any]:
        try:
            found: dict[str, Any] = json.loads((self.folder / STATUS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"id": self.id, "state": "unknown", "fraction": 0.0, "message": "no status yet"}
        return found


def write_status(folder: Path, **status: Any) -> None:
    tmp = folder / f".{STATUS}.{os.getpid()}"
    tmp.write_text(json.dumps(status), encoding="utf-8")
    os.replace(tmp, folder / STATUS)


class CaseJobs:
    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        self._lock = threading.Lock()
        self._running: multiprocessing.process.BaseProcess | None = None

    def get(self, job_id: str) -> CaseJob | None:
        if not JOB_ID.match(job_id) or not (self.root / job_id).is_dir():
            return None
        return CaseJob(job_id, self.root / job_id)

    def start(self, people: tuple[int, ...], redact: Redact, pad_s: float) -> CaseJob:
        with self._lock:
            if self._running is not None and self._running.is_alive():
                raise ExportBusy("an export is running: wait for it to finish")
            self._purge()
            job_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.urandom(3).hex()}"
            folder = self.root / job_id
            folder.mkdir(parents=True)
            job = CaseJob(job_id, folder)
            request = {"people": list(people), "redact": redact.value, "pad_s": pad_s}
            write_status(folder, id=job_id, state="queued", fraction=0.0, message="starting", request=request)
            fsync_dir(self.root)
            context = multiprocessing.get_context("spawn")
            process = context.Process(
                target=run_case_job,
                args=(self._where(), request, str(folder), str(job.zip)),
                name=f"case-{job_id}",
                daemon=True,
            )
            process.start()
            self._running = process
            threading.Thread(target=self._reap, args=(process, folder), daemon=True).start()
            return job

    def _purge(self) -> None:
        """Exports older than :data:`KEEP_S` (their zips hold footage of people) are deleted, and what
        a killed export left in its folder (work folder, partial zip) at once."""
        if not self.root.is_dir():
            return
        for folder in self.root.iterdir():
            try:
                old = JOB_ID.match(folder.name) and time.time() - folder.stat().st_mtime > KEEP_S
            except OSError:
                continue
            if old:
                shutil.rmtree(folder, ignore_errors=True)
            elif JOB_ID.match(folder.name) and folder.is_dir():
                sweep_leftovers(folder)

    def _where(self) -> dict[str, Any]:
        """What the export's process needs of the settings (no secret crosses to it)."""
        service = self.settings.service
        return {
            "state": str(service.state_dir),
            "outbox": str(service.outbox_dir),
            "threshold": self.settings.people.threshold,
            "memory_mb": service.worker_memory_mb,
        }

    @staticmethod
    def _reap(process: multiprocessing.process.BaseProcess, folder: Path) -> None:
        """Wait for the export's process (a thread that only waits): a process that died says so."""
        process.join()
        status = CaseJob(folder.name, folder).status()
        if status.get("state") not in ("done", "failed"):
            write_status(
                folder, **{**status, "state": "failed", "message": f"the export stopped (exit {process.exitcode})"}
            )


def run_case_job(where: dict[str, Any], request: dict[str, Any], folder: str, target: str) -> None:
    """In the export's own process: the export, its progress and its end into ``status.json``."""
    from ..people.index import PeopleIndex
    from ..service.layout import StateLayout
    from .appearances import CaseError
    from .export import CaseRequest, export_case

    here = Path(folder)
    _limit_memory(int(where["memory_mb"]))
    base = {"id": here.name, "request": request}

    def progress(fraction: float, message: str) -> None:
        write_status(here, **base, state="running", fraction=round(fraction, 3), message=message)

    layout = StateLayout(Path(where["state"]))
    try:
        index = PeopleIndex(layout.people_database, float(where["threshold"]))
        case = CaseRequest(tuple(request["people"]), None, None, float(request["pad_s"]), Redact(request["redact"]))
        result = export_case(case, index, Path(where["outbox"]), [layout.done], Path(target), progress)
    except (CaseError, OSError) as exc:
        write_status(here, **base, state="failed", fraction=1.0, message=str(exc))
        return
    summary = f"{result.appearances} appearance(s), {result.clips} clip(s)"
    write_status(here, **base, state="done", fraction=1.0, message=summary, notes=result.notes, zip=Path(target).name)


def _limit_memory(megabytes: int) -> None:
    if megabytes <= 0:
        return
    import resource

    limit = megabytes << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
