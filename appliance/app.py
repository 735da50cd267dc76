"""The one place that wires the appliance together (as Frigate's ``app.py``): ``appliance serve`` (the service
and the page over it) and ``appliance worker`` (a box of the fleet that only processes).

The service (:mod:`appliance.service`) knows no page; the page (:mod:`appliance.web`) reads the
service's store and asks the service for its health and photo searches, and hands the export button's
cases to the exports made here (:class:`appliance.cases.jobs.CaseJobs`: a process of their own each).
Only this module imports both, so imports run one way: common < settings < detect/output < people <
pipeline < events < service < cases < web < app/cli (``tests/test_layers.py`` keeps it so).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .cases.jobs import CaseJobs
from .common.box import box_name, name_box
from .output.writer import remove_partials
from .service.layout import StateLayout
from .service.pool import WorkerPool
from .service.queue import open_redis
from .service.recovery import Recovery
from .service.service import Service
from .settings import Settings
from .web import create_app
from .web.server import create_server

log = logging.getLogger("appliance.service")


class Appliance:
    """``appliance serve``: the service, then the page on its port; stopped in the opposite order."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.service = Service(settings)
        self._server: Any = None  # waitress's server, once started
        self.port = 0

    def start(self) -> None:
        self.service.start()
        web = self.settings.web
        exports = CaseJobs(StateLayout(self.settings.service.state_dir).root / "cases", self.settings)
        app = create_app(self.settings, self.service.store, service=self.service, exports=exports)
        self._server = create_server(app, web)
        self.port = self._server.effective_port
        threading.Thread(target=self._server.run, name="http", daemon=True).start()
        svc = self.settings.service
        log.info("status page on http://%s:%s/ (inbox %s, outbox %s)", web.host, self.port, svc.inbox_dir,
                 svc.outbox_dir)  # fmt: skip

    def run(self) -> None:
        """Until :meth:`request_stop` (the service's upkeep loop)."""
        self.service.run()

    def request_stop(self) -> None:
        """Safe from a signal handler: :meth:`run` returns, then the caller runs :meth:`stop`."""
        self.service.request_stop()

    def stop(self) -> None:
        self.service.stop()
        if self._server is not None:
            self._server.close()
            self._server = None
        log.info("stopped")


class WorkerError(Exception):
    """A worker box that cannot start, said for the operator."""


class WorkerBox:
    """``appliance worker``: this box's workers on the fleet's queue; its jobs cut short by a stop put right first."""

    def __init__(self, settings: Settings) -> None:
        svc = settings.service
        name_box(svc.box)
        if not svc.fleet:
            raise WorkerError("appliance worker takes its jobs from a shared queue: set APPLIANCE_QUEUE="
                              "redis://host:6379/0 (on a single box, appliance serve runs the workers)")  # fmt: skip
        layout = StateLayout(svc.state_dir)
        if not layout.processing.is_dir() or not svc.outbox_dir.is_dir():
            raise WorkerError(f"the shared folders are not there: {layout.processing} and {svc.outbox_dir} "
                              "(mount the ingest box's data folder here, or point --data at it)")  # fmt: skip
        self.settings = settings
        self.store = open_redis(settings)
        people = settings.people.enabled
        self.recovery = Recovery(self.store, layout, svc.outbox_dir, None, settings.events, people_enabled=people)
        self.pool = WorkerPool(settings, self.store, self.recovery)

    def start(self) -> None:
        for partial in remove_partials(self.settings.service.outbox_dir):
            log.info("removed partial result %s", partial.name)
        for job in self.store.processing():
            if job.host == box_name():
                self.recovery.job(job, f"the worker box {box_name()} stopped while it ran")
        self.pool.start()
        log.info("worker box %s: %d worker(s) on the queue at %s", box_name(), self.settings.service.workers,
                 self.store.rq.name)  # fmt: skip

    def supervise(self) -> None:
        self.pool.supervise()

    def stop(self, grace_s: float) -> None:
        self.pool.stop(grace_s)
        log.info("stopped")
