"""The service of ``appliance serve``: the inbox watcher, the worker processes, the events and the upkeep.

It knows no page: :mod:`appliance.app` builds it and serves the page over it (the page asks it for its
health and to search a photo, through :class:`~appliance.web.context.ServiceView`).

Start-up recovers first: partial results are removed, jobs cut short between the inbox and
``processing/`` are finished, files in ``processing/`` with no job are queued, and jobs left
``processing`` are settled (:mod:`appliance.service.recovery`). While running, a watchdog stops a
worker whose job makes no progress; the job counts an attempt and fails after the usual number.

With a shared queue (``queue = "redis://..."``) this is the fleet's ingest box: it takes the
files, serves the page, keeps the people index and the events, and watches the runs of every box
(:mod:`appliance.service.fleet`); its own workers (``workers``, may be 0) are some of the fleet's.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from pathlib import Path

from ..common.atomic import write_atomic
from ..common.box import box_name, name_box
from ..events import model as event_model
from ..events.dispatch import Dispatcher, channels_for
from ..output.writer import remove_partials
from ..people.index import PeopleIndex
from ..settings import Settings, env_name
from . import health
from .fleet import FleetReconciler
from .ingest import Ingest, recover_received
from .jobs import JobState
from .layout import StateLayout
from .outcome import index_pending
from .pool import WorkerPool
from .queue import open_redis, open_sqlite
from .recovery import Recovery
from .retention import apply_retention
from .searcher import PhotoFace, Searcher, SearchError
from .store import JobStore
from .watch import InboxWatcher

log = logging.getLogger("appliance.service")
RETENTION_EVERY_S = 600.0
SUPERVISE_EVERY_S = 1.0  # worker liveness, the watchdog and retention are checked this often
STOP_GRACE_S = 7.0  # workers get this long to re-queue their job and exit (container stop: 10 s)
HEALTH_EVERY_TICKS = 5  # the box's health is compared this many supervision ticks apart
SECRET_KEY_BYTES = 32


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        svc = settings.service
        name_box(svc.box)
        self.inbox, self.outbox = svc.inbox_dir, svc.outbox_dir
        self.layout = StateLayout(svc.state_dir).create()
        for folder in (self.inbox, self.outbox):
            folder.mkdir(parents=True, exist_ok=True)
        fleet_store = open_redis(settings) if svc.fleet else None
        self.store: JobStore = fleet_store or open_sqlite(settings, self.layout)
        people = settings.people
        self.people = PeopleIndex(self.layout.people_database, people.threshold) if people.enabled else None
        self.searcher = Searcher(settings) if people.enabled else None
        self.recovery = Recovery(self.store, self.layout, self.outbox, self.people, settings.events)
        self.ingest = Ingest(self.inbox, self.layout, self.store)
        self.pool = WorkerPool(settings, self.store, self.recovery)
        # in a fleet, the ingest box watches every box's runs
        self.fleet = FleetReconciler(fleet_store, self.recovery) if fleet_store is not None else None
        self._stopping = threading.Event()
        self._stop_requested = threading.Event()
        self.watcher = InboxWatcher(self.inbox, self._take, svc.settle_s, svc.scan_interval_s, svc.polling)
        self.dispatcher = Dispatcher(
            self.store, channels_for(settings.events), self.outbox, self.box_state, settings.events.public_url
        )
        self._health_status: str | None = None

    def _take(self, path: Path) -> object:
        return None if self._stopping.is_set() else self.ingest(path)

    # -- recovery ----------------------------------------------------------------------------
    def recover(self) -> None:
        for partial in remove_partials(self.outbox):
            log.info("removed partial result %s", partial.name)
        recover_received(self.store, self.layout, self.inbox)
        for job in self.store.processing():
            if job.host in (box_name(), None):  # another box's job is that box's (or, if it died, the fleet watch's)
                self.recovery.job(job, "the service stopped while it ran")

    def workers_alive(self) -> int:
        """Workers that can take jobs: this box's, and in a fleet every box's that said so lately."""
        if self.fleet is not None:
            return len(self.store.workers())
        return self.pool.alive()

    def health(self) -> health.Health:
        folders = {"outbox": self.outbox, "state": self.layout.root}
        return health.check(self.store, self.workers_alive(), self.settings.service.stall_timeout_s, folders)

    def _tell_health(self) -> None:
        """A ``health`` event whenever the box's health changes (and the first time it is not ok)."""
        found = self.health()
        status = "ok" if found.ok else "degraded"
        if status != self._health_status and (self._health_status is not None or status != "ok"):
            self.store.emit([event_model.health(status, found.problems, self._health_status)])
            log.info("health: %s%s", status, f" ({', '.join(found.problems)})" if found.problems else "")
        self._health_status = status

    def box_state(self) -> dict[str, object]:
        """What Home Assistant shows: the queue, faces today, the last person seen, healthy."""
        counts = self.store.counts()
        midnight = time.mktime(time.localtime()[:3] + (0, 0, 0, 0, 0, -1))
        today = [j for j in self.store.recent(limit=1000, state=JobState.DONE) if (j.finished or 0) >= midnight]
        last = self.people.people()[0] if self.people is not None and self.people.people() else None
        return {
            "queue": counts[JobState.QUEUED] + counts[JobState.PROCESSING],
            "faces_today": sum(j.faces for j in today),
            "last_person": (last["name"] or f"#{last['id']}") if last else "",
            "healthy": self.health().ok,
        }

    # -- lifecycle ---------------------------------------------------------------------------
    def secret_key(self) -> bytes:
        """The key that signs the page's sessions: made once, remade if a power cut left it empty or short."""
        path = self.layout.secret_key
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = b""
        if len(key) >= SECRET_KEY_BYTES:
            return key
        key = secrets.token_bytes(SECRET_KEY_BYTES)
        write_atomic(path, key, mode=0o600)
        return key

    def start(self) -> None:
        """Put right what a stop left, then start the workers, the inbox watcher and event delivery."""
        os.environ.pop(env_name("token"), None)  # read into the settings; workers inherit the environment
        self.recover()
        self.pool.start()
        self.watcher.start()
        self.dispatcher.start()

    def request_stop(self) -> None:
        """Safe from a signal handler: :meth:`run` returns, then the caller runs :meth:`stop`."""
        self._stop_requested.set()

    def run(self) -> None:
        """Until :meth:`request_stop`: watch the workers and their progress, apply retention, regroup people."""
        last_retention = last_regroup = time.monotonic()
        last_retention -= RETENTION_EVERY_S
        ticks = 0
        while not self._stop_requested.wait(SUPERVISE_EVERY_S):
            self.pool.supervise()
            self._watch_fleet()
            ticks += 1
            if ticks % HEALTH_EVERY_TICKS == 0:
                self._tell_health()
            if time.monotonic() - last_retention > RETENTION_EVERY_S:
                last_retention = time.monotonic()
                try:
                    apply_retention(self.settings.retention, self.outbox, self.layout.done, self.store, self.people)
                except OSError:
                    log.exception("retention failed")
            if self.people is not None and time.monotonic() - last_regroup > self.settings.people.recluster_s:
                last_regroup = time.monotonic()
                self._regroup()

    def _watch_fleet(self) -> None:
        """In a fleet: runs that ended without settling their job; results the workers left to index."""
        if self.fleet is None:
            return
        try:
            self.fleet.tick()
            if self.people is not None:
                index_pending(self.store, self.people, self.settings.events)
        except Exception:  # noqa: BLE001 - Redis away for a moment: the next round tries again
            log.exception("watching the fleet's queue failed")

    def _regroup(self) -> None:
        """Re-group the people index if faces came since the last time (a background thread: it takes a while)."""
        if self.people is None or self.people.faces_since_regroup() == 0:
            return
        people = self.people

        def regroup() -> None:
            try:
                done = people.regroup()
                log.info("people regrouped: %d faces, %d moved", done["faces"], done["changed"])
            except Exception:  # noqa: BLE001 - the index stays as it was
                log.exception("regrouping people failed")

        threading.Thread(target=regroup, name="regroup", daemon=True).start()

    def search_photo(self, data: bytes) -> list[PhotoFace]:
        if self.searcher is None:
            raise SearchError("the people feature is off (setting people)")
        return self.searcher.faces(data)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop taking files, let workers re-queue their job and exit; kill those that do not."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        log.info("stopping")
        self.watcher.stop()
        self.pool.stop(grace_s)
        remove_partials(self.outbox)
        self.dispatcher.stop()
        if self.searcher is not None:
            self.searcher.stop()
