"""The fleet's job queue: the same jobs as the embedded queue, kept in Redis, dispatched to workers by RQ.

Each job is one JSON record (``appliance:job:<id>``) with sets by state for the page. Every change
is a WATCH/MULTI transaction: a job put in the queue gets its RQ run in the same transaction
(``Queue.enqueue_call(pipeline=...)``), and a finished job its events. RQ carries the runs to the
workers and watches them: a run whose worker stops sending heartbeats (a box that died) is moved to
RQ's failed registry, where the ingest box finds it (:mod:`appliance.service.fleet`) and retries the
job on another worker, or fails it after the usual number of attempts. A run holds its job only
while its ``lease`` (the RQ run's id) is the job's; a late or repeated run finds it is not and does
nothing.

Paths are kept relative to the box's folders, and a record is believed only as far as it stays inside
them (:mod:`.redis_records`): one that does not is left off every list, never acted on, and a run for
it fails with the reason. The client rides out a Redis restart (:mod:`.redis_connect`); the worker
registry, the event outbox and the operator log are :mod:`.redis_roles`.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from functools import partial
from typing import Any

from rq import Queue

from ...events.model import NewEvent
from ..jobs import OUTBOX_CAP, Job, JobKind, JobState
from . import lifecycle
from .redis_connect import connect
from .redis_records import PATH_FIELDS, PathMap, UnsafeRecord, check_record
from .redis_roles import PREFIX, RedisEventOutbox, RedisOperatorLog, RedisWorkerRegistry
from .runs import RUN_SERIALIZER, TASK, ApplianceRun

log = logging.getLogger("appliance.queue")
RQ_QUEUE = "appliance"
RESULT_TTL_S = 3600  # a finished RQ run is kept this long (its job's record stays in ours)
FAILURE_TTL_S = 7 * 86400  # a failed run, for the reconciler and for people looking into RQ
TOTALS_CACHE_S = 5.0


class RedisJobStore(RedisWorkerRegistry, RedisEventOutbox, RedisOperatorLog):
    """The job store on Redis; RQ runs are made here, taken by :mod:`.rq_worker`. Workers do not poll
    (no ``claim``): RQ hands each its runs, and a run takes its job with :meth:`start`."""

    def __init__(self, url: str, paths: PathMap, outbox_cap: int = OUTBOX_CAP) -> None:
        self.url = url
        self.mapping = paths
        self.outbox_cap = outbox_cap
        self.r: Any = connect(url)  # Any: redis-py's return types are unions of sync and async ones
        self.rq = Queue(RQ_QUEUE, connection=self.r, job_class=ApplianceRun, serializer=RUN_SERIALIZER)
        self._totals: tuple[float, dict[str, float]] | None = None
        self._refused: set[str] = set()  # records already said to be refused

    # -- records ----------------------------------------------------------------------------------
    @staticmethod
    def _key(job_id: int) -> str:
        return f"{PREFIX}job:{job_id}"

    def _dump(self, job: Job) -> str:
        data = asdict(job)
        data["state"], data["kind"] = job.state.value, job.kind.value
        for name in PATH_FIELDS:
            data[name] = self.mapping.to_queue(data[name])
        return json.dumps(data)

    def _load(self, raw: bytes | str) -> Job:
        """The job a record describes; raises :class:`UnsafeRecord` for one this box must not act on."""
        try:
            data = json.loads(raw)
            check_record(data)
            for name, allowed in PATH_FIELDS.items():
                data[name] = self.mapping.from_queue(data.get(name), allowed)
            return Job(**data)
        except UnsafeRecord:
            raise
        except (ValueError, TypeError, AttributeError) as exc:
            raise UnsafeRecord(f"a job record that is not one of this appliance's: {exc}") from None

    def _load_or_skip(self, raw: bytes | str) -> Job | None:
        """For lists: a record this box must not act on is left off, and said once."""
        try:
            return self._load(raw)
        except UnsafeRecord as exc:
            if str(exc) not in self._refused:
                self._refused.add(str(exc))
                log.error("job record in the queue refused (written by something other than the appliance?): %s", exc)
            return None

    def _jobs(self, ids: Iterable[int | bytes]) -> list[Job]:
        keys = [self._key(int(i)) for i in ids]
        found: list[Job] = []
        for start in range(0, len(keys), 500):
            loaded = (self._load_or_skip(raw) for raw in self.r.mget(keys[start : start + 500]) if raw is not None)
            found.extend(job for job in loaded if job is not None)
        return found

    def _save(self, pipe: Any, job: Job, before: JobState | None) -> None:
        pipe.set(self._key(job.id), self._dump(job))
        if before is not job.state:
            if before is not None:
                pipe.srem(f"{PREFIX}state:{before.value}", job.id)
                if job.top_level:
                    pipe.srem(f"{PREFIX}top:{before.value}", job.id)
            pipe.sadd(f"{PREFIX}state:{job.state.value}", job.id)
            if job.top_level:
                pipe.sadd(f"{PREFIX}top:{job.state.value}", job.id)

    def _change(
        self,
        job_id: int,
        change: Callable[[Job], bool | None],
        events: Sequence[NewEvent] = (),
        also: Callable[[Any, Job], None] | None = None,
        lease: str | None = None,
    ) -> Job | None:
        """Apply ``change`` to the job atomically (it returns False to leave it as it is); a job that ends up
        queued gets its RQ run in the same transaction. Returns the job as saved, or None."""
        key = self._key(job_id)

        def transaction(pipe: Any) -> Job | None:
            raw = pipe.get(key)
            if raw is None:
                return None
            job = self._load(raw)
            lifecycle.check_lease(job, lease)
            before = job.state
            if change(job) is False:
                return None
            job.updated = time.time()
            ids = self._reserve(pipe, len(events))
            pipe.multi()
            self._dispatch_if_queued(pipe, job)
            self._save(pipe, job, before)
            self._emit(pipe, events, ids, job.updated)
            if also is not None:
                also(pipe, job)
            return job

        result: Job | None = self.r.transaction(transaction, key, value_from_callable=True)
        return result

    # -- RQ runs ----------------------------------------------------------------------------------
    def _dispatch_if_queued(self, pipe: Any, job: Job) -> None:
        """A queued job that may be taken now gets a new RQ run (its lease); one that waits gets it later."""
        if job.state is not JobState.QUEUED:
            return
        if job.retry_at is not None and job.retry_at > time.time():
            job.lease = None
            return
        part = f"p{job.part:03d}" if job.part else job.kind.value[0]
        job.lease = f"appl-{job.sha256[:16]}-{part}-{secrets.token_hex(3)}"
        self.rq.enqueue_call(
            TASK,
            args=(job.id, job.lease),
            job_id=job.lease,
            timeout=-1,  # no RQ time limit: the worker's CPU budget and the stall watchdog bound a job
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
            description=job.name,
            at_front=job.kind is JobKind.MERGE,
            pipeline=pipe,
        )

    def dispatch(self, job_id: int) -> Job | None:
        """Give a queued job a fresh RQ run (its run was lost, or its wait is over)."""
        return self._change(job_id, lambda job: job.state is JobState.QUEUED)

    # -- the job queue ----------------------------------------------------------------------------
    def add(
        self,
        name: str,
        path: str,
        sha256: str,
        size: int,
        source: str | None = None,
        state: JobState = JobState.QUEUED,
        error: str | None = None,
    ) -> Job:
        job = lifecycle.new(name, path, sha256, size, source, state, error, time.time())
        job.id = int(self.r.incr(f"{PREFIX}next_id"))
        with self.r.pipeline() as pipe:  # a new key: nothing to watch
            pipe.multi()
            self._dispatch_if_queued(pipe, job)
            self._save(pipe, job, None)
            pipe.zadd(f"{PREFIX}jobs", {str(job.id): job.id})
            pipe.sadd(f"{PREFIX}sha:{sha256}", job.id)
            pipe.execute()
        return job

    def queue(self, job_id: int, path: str) -> None:
        self._change(job_id, partial(lifecycle.queue, path=path))

    def forget(self, job_id: int) -> None:
        job = self.get(job_id)
        if job is None or job.state is not JobState.RECEIVED:
            return
        with self.r.pipeline() as pipe:
            pipe.delete(self._key(job_id))
            pipe.srem(f"{PREFIX}state:{JobState.RECEIVED.value}", job_id)
            pipe.srem(f"{PREFIX}top:{JobState.RECEIVED.value}", job_id)
            pipe.zrem(f"{PREFIX}jobs", str(job_id))
            pipe.srem(f"{PREFIX}sha:{job.sha256}", job_id)
            pipe.execute()

    def failed_in_place(self, source: str) -> Job | None:
        for job in sorted(self._state(JobState.FAILED, top=True), key=lambda j: -j.id):
            if job.source == source and job.path == source:
                return job
        return None

    def find_active_or_done(self, sha256: str) -> Job | None:
        wanted = (JobState.DONE, JobState.QUEUED, JobState.PROCESSING, JobState.SPLIT)
        jobs = self._jobs(sorted(int(i) for i in self.r.smembers(f"{PREFIX}sha:{sha256}")))
        return next((j for j in jobs if j.top_level and j.state in wanted), None)

    def mark_duplicate(self, job_id: int, of: int, path: str) -> None:
        self._change(job_id, partial(lifecycle.mark_duplicate, of=of, path=path, now=time.time()))

    def start(self, job_id: int, worker: int, host: str, lease: str) -> Job | None:
        """The RQ run ``lease`` takes its job, if the job is queued and that run is still the job's."""

        def take(job: Job) -> bool:
            return job.lease == lease and lifecycle.take(job, worker, host, lease, time.time())

        return self._change(job_id, take)

    def progress(
        self,
        job_id: int,
        progress: float,
        faces: int,
        frames: int,
        fps: float,
        eta_s: float | None,
        detail: str | None = None,
    ) -> None:
        move = partial(lifecycle.report_progress, progress=progress, faces=faces, frames=frames, fps=fps,
                       eta_s=eta_s, detail=detail)  # fmt: skip
        job = self._change(job_id, move)
        if job is not None and job.parent is not None:
            self._roll_up(job.parent)

    def _roll_up(self, parent_id: int) -> None:
        parts = self.parts_of(parent_id)
        self._change(parent_id, lambda parent: lifecycle.roll_up(parent, parts))

    def finish(
        self,
        job_id: int,
        path: str,
        output: str,
        faces: int,
        frames: int = 0,
        events: Sequence[NewEvent] = (),
        people_pending: bool = False,
        lease: str | None = None,
    ) -> None:
        move = partial(lifecycle.finish, path=path, output=output, faces=faces, frames=frames,
                       people_pending=people_pending, now=time.time())  # fmt: skip
        self._change(job_id, move, events, self._pending_index(people_pending), lease)

    @staticmethod
    def _pending_index(pending: bool) -> Callable[[Any, Job], None] | None:
        if not pending:
            return None
        return lambda pipe, job: pipe.sadd(f"{PREFIX}people_pending", job.id)

    def fail(
        self, job_id: int, path: str, error: str, events: Sequence[NewEvent] = (), lease: str | None = None
    ) -> None:
        self._change(job_id, partial(lifecycle.fail, path=path, error=error, now=time.time()), events, lease=lease)

    def requeue(
        self, job_id: int, give_back_attempt: bool = False, retry_at: float | None = None, error: str | None = None
    ) -> None:
        """Back to the queue (:func:`.lifecycle.requeue`), with a new RQ run unless it waits."""
        move = partial(lifecycle.requeue, give_back_attempt=give_back_attempt, retry_at=retry_at, error=error)
        self._change(job_id, move)

    def retry(self, job_id: int, path: str) -> bool:
        return self._change(job_id, partial(lifecycle.retry, path=path)) is not None

    # -- reading ----------------------------------------------------------------------------------
    def get(self, job_id: int) -> Job | None:
        raw = self.r.get(self._key(job_id))
        return None if raw is None else self._load_or_skip(raw)

    def recent(self, limit: int = 50, state: JobState | None = None) -> list[Job]:
        if state is not None:
            ids = sorted((int(i) for i in self.r.smembers(f"{PREFIX}top:{state.value}")), reverse=True)[:limit]
            return self._jobs(ids)
        return self._jobs(self.r.zrevrange(f"{PREFIX}jobs", 0, limit - 1))

    def _state(self, state: JobState, top: bool = False) -> list[Job]:
        kind = "top" if top else "state"
        return self._jobs(sorted(int(i) for i in self.r.smembers(f"{PREFIX}{kind}:{state.value}")))

    def counts(self) -> dict[JobState, int]:
        with self.r.pipeline(transaction=False) as pipe:
            for state in JobState:
                pipe.scard(f"{PREFIX}top:{state.value}")
            return {state: int(n) for state, n in zip(JobState, pipe.execute(), strict=True)}

    def totals(self) -> dict[str, float]:
        now = time.monotonic()
        if self._totals is not None and now - self._totals[0] < TOTALS_CACHE_S:
            return self._totals[1]
        jobs = self._state(JobState.DONE, top=True) + self._state(JobState.FAILED, top=True)
        seconds = sum(j.finished - j.started for j in jobs if j.finished is not None and j.started is not None)
        found = {
            "frames_analysed": sum(j.frames_analysed for j in jobs),
            "faces": sum(j.faces for j in jobs),
            "processing_seconds": seconds,
        }
        self._totals = (now, found)
        return found

    def processing(self) -> list[Job]:
        return self._state(JobState.PROCESSING)

    def received(self) -> list[Job]:
        return self._state(JobState.RECEIVED)

    def queued(self) -> list[Job]:
        return self._state(JobState.QUEUED)

    def paths(self) -> set[str]:
        """Where every job's footage is (or was last); a part's footage is its recording's."""
        return {j.path for j in self._jobs(self.r.zrange(f"{PREFIX}jobs", 0, -1))}

    def outputs(self) -> set[str]:
        return {j.output for j in self._state(JobState.DONE, top=True) if j.output}

    # -- split recordings -------------------------------------------------------------------------
    def split(self, job_id: int, parts: int, detail: str) -> list[Job]:
        """Parts first, then the recording marked split: a crash between leaves it processing (recovered),
        and a repeated split adds only the parts that are missing."""
        parent = self.get(job_id)
        if parent is None:
            return []
        existing = {j.part for j in self.parts_of(job_id) if j.kind is JobKind.PART}
        for number in range(1, parts + 1):
            if number not in existing:
                self._add_child(lifecycle.child(parent, JobKind.PART, number, parts, time.time()))
        self._change(job_id, partial(lifecycle.split, parts=parts, detail=detail))
        return [j for j in self.parts_of(job_id) if j.kind is JobKind.PART]

    def _add_child(self, job: Job) -> Job:
        job.id = int(self.r.incr(f"{PREFIX}next_id"))
        with self.r.pipeline() as pipe:
            pipe.multi()
            self._dispatch_if_queued(pipe, job)
            self._save(pipe, job, None)
            pipe.sadd(f"{PREFIX}children:{job.parent}", job.id)
            pipe.execute()
        return job

    def part_done(self, job_id: int, frames: int, faces: int) -> Job | None:
        part = self._change(job_id, partial(lifecycle.part_done, frames=frames, faces=faces, now=time.time()))
        if part is None or part.parent is None:
            return None
        self._roll_up(part.parent)
        return self._merge_when_all_done(part.parent)

    def _merge_when_all_done(self, parent_id: int) -> Job | None:
        """Queue the merge once, when every part is done (a lock makes two last parts agree on who does it)."""
        with self.r.lock(f"{PREFIX}lock:merge:{parent_id}", timeout=30, blocking_timeout=30):
            parent = self.get(parent_id)
            if parent is None or not lifecycle.merge_due(parent, self.parts_of(parent_id)):
                return None
            return self._add_child(lifecycle.child(parent, JobKind.MERGE, None, parent.parts, time.time()))

    def parts_of(self, job_id: int) -> list[Job]:
        jobs = self._jobs(sorted(int(i) for i in self.r.smembers(f"{PREFIX}children:{job_id}")))
        return sorted(jobs, key=lambda j: (j.kind is JobKind.MERGE, j.part or 0))

    def cancel_parts(self, job_id: int, reason: str) -> None:
        for child in self.parts_of(job_id):
            self._change(child.id, partial(lifecycle.cancel, reason=reason, now=time.time()))

    # -- people indexed by the ingest box ---------------------------------------------------------
    def people_pending(self) -> list[Job]:
        ids = sorted(int(i) for i in self.r.smembers(f"{PREFIX}people_pending"))
        return [j for j in self._jobs(ids) if j.state is JobState.DONE]

    def people_indexed(self, job_id: int, events: Sequence[NewEvent] = ()) -> None:
        self._change(
            job_id, lifecycle.people_indexed, events, lambda pipe, job: pipe.srem(f"{PREFIX}people_pending", job.id)
        )
