"""What an RQ run on the fleet's queue may be: the appliance's own task with JSON arguments, nothing else.

Anyone who can write to the fleet's Redis can put a run in its queue. RQ as it comes would unpickle
the run (code runs while it loads), import and call whatever function the run names, call the
callbacks it names and POST to the webhooks it lists: a Redis writer would run any command on every
worker. Here a run's data is JSON (:data:`RUN_SERIALIZER`, on both sides: the ingest box reads runs
too), and :class:`ApplianceRun` refuses any function but :data:`TASK`, any bound instance, any
callback and any RQ webhook, before anything is imported or called. A refused run fails in RQ with
the reason; the worker goes on with the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rq.job import Job as RqJob
from rq.serializers import JSONSerializer

TASK = "appliance.service.queue.rq_worker.run_job"
ALLOWED_TASKS = frozenset({TASK})
RUN_SERIALIZER = JSONSerializer


class RefusedRun(Exception):
    """A run this worker will not execute: it names something other than the appliance's task."""


class ApplianceRun(RqJob):
    """An RQ job that only ever calls :data:`TASK` (checked by name, before any import). The function it calls
    is :attr:`task`, bound by the appliance's RQ worker that performs it (:mod:`.rq_worker`): nothing is
    looked up by the run's name."""

    task: Callable[..., Any] | None = None

    @property
    def func(self) -> Callable[..., Any]:
        name = self.func_name  # raises DeserializationError for a run that is not JSON
        if name not in ALLOWED_TASKS:
            raise RefusedRun(f"run {self.id} names {name!r}: this worker only runs {TASK}")
        if self.instance is not None:
            raise RefusedRun(f"run {self.id} binds {name!r} to an instance: refused")
        callbacks = (self._success_callback_name, self._failure_callback_name, self._stopped_callback_name)
        if any(callbacks):
            raise RefusedRun(f"run {self.id} names callbacks {[c for c in callbacks if c]}: refused")
        if self.task is None:
            raise RefusedRun(f"run {self.id} is performed only by an appliance worker (appliance worker / serve)")
        return self.task

    @property
    def success_callback(self) -> None:
        """Never: a callback is a function named by whoever wrote the run."""
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None

    def send_webhooks(self, *args: Any, **kwargs: Any) -> None:
        """Never: RQ's webhooks would make workers POST wherever a Redis writer likes."""
