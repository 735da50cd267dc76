"""One contract for both job stores: every case runs against the embedded store (SQLite) and the fleet's (a
real Redis). The moves are :mod:`appliance.service.queue.lifecycle`'s; these cases check that each store
persists them the same way: states, attempts, leases, split recordings, the outbox, the worker registry
and the operator log, and that one job is taken once when two workers reach for it at the same moment."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from appliance.events.model import EventType, NewEvent
from appliance.service.jobs import KEPT_EVENTS, Job, JobKind, JobState, LeaseLost, WorkerBeat
from appliance.service.queue.redis import RedisJobStore
from appliance.service.queue.redis_records import PathMap
from appliance.service.queue.sqlite import SqliteJobStore
from appliance.service.store import JobStore
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow  # a real redis-server (one for the module)
SHA = "ab" * 32
CAP = 5  # a small outbox, to see it capped


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


class Box:
    """A store and the folders its paths are in (Redis keeps paths relative to them)."""

    def __init__(self, store: JobStore, root: Path) -> None:
        self.store = store
        self.root = root

    def footage(self, name: str) -> str:
        return str(self.root / "state" / "processing" / name)

    def output(self, name: str) -> str:
        return str(self.root / "outbox" / name)

    def add(self, name: str = "cam1.mp4", sha: str = SHA, **kwargs: object) -> Job:
        return self.store.add(name, self.footage(name), sha, 1000, **kwargs)  # type: ignore[arg-type]

    def take(self, job_id: int, worker: int = 1, host: str = "box-a", lease: str | None = None) -> Job | None:
        """What a worker does to take a job: the embedded store's worker makes its lease, RQ's run has one."""
        found = self.store.get(job_id)
        held = lease or (found.lease if found is not None and found.lease else uuid.uuid4().hex)
        return self.store.start(job_id, worker, host, held)


@pytest.fixture(params=["sqlite", "redis"])
def box(request, tmp_path) -> Box:
    root = tmp_path / "box"
    if request.param == "sqlite":
        return Box(SqliteJobStore(root / "state" / "jobs.sqlite", outbox_cap=CAP), root)
    url = request.getfixturevalue("redis_url")
    paths = PathMap((("state", root / "state"), ("outbox", root / "outbox"), ("inbox", root / "inbox")))
    store = RedisJobStore(url, paths, outbox_cap=CAP)
    store.r.flushall()
    return Box(store, root)


def test_a_job_goes_queued_processing_done(box):
    job = box.add()
    assert job.state is JobState.QUEUED and job.attempts == 0
    taken = box.take(job.id, worker=2)
    assert taken is not None and (taken.state, taken.worker, taken.host, taken.attempts) == (
        JobState.PROCESSING, 2, "box-a", 1
    )  # fmt: skip
    assert taken.started is not None and taken.lease
    assert box.take(job.id) is None  # taken: nobody else gets it
    box.store.progress(job.id, 0.5, faces=3, frames=10, fps=4.0, eta_s=12.0, detail="scan: busy")
    assert (box.store.get(job.id).progress, box.store.get(job.id).detail) == (0.5, "scan: busy")
    box.store.finish(job.id, box.footage("done.mp4"), box.output("cam1"), faces=4, frames=20, lease=taken.lease)
    done = box.store.get(job.id)
    assert (done.state, done.progress, done.faces, done.frames_analysed) == (JobState.DONE, 1.0, 4, 20)
    assert (done.worker, done.lease, done.finished is not None) == (None, None, True)
    assert box.store.outputs() == {box.output("cam1")}
    assert box.store.counts()[JobState.DONE] == 1 and [j.id for j in box.store.recent()] == [job.id]
    box.store.progress(job.id, 0.2, 0, 0, 0.0, None)  # a late report must not reopen it
    assert box.store.get(job.id).state is JobState.DONE and box.store.get(job.id).progress == 1.0


def test_received_jobs_are_queued_or_forgotten(box):
    kept = box.add("a.mp4", state=JobState.RECEIVED)
    dropped = box.add("b.mp4", sha="cd" * 32, state=JobState.RECEIVED)
    assert {j.id for j in box.store.received()} == {kept.id, dropped.id}
    assert box.take(kept.id) is None  # not in processing/ yet
    box.store.queue(kept.id, box.footage("a-moved.mp4"))
    box.store.forget(dropped.id)
    assert box.store.get(kept.id).state is JobState.QUEUED and box.store.get(kept.id).path == box.footage("a-moved.mp4")
    assert box.store.get(dropped.id) is None and box.store.received() == []
    box.store.forget(kept.id)  # only a received job may be forgotten
    assert box.store.get(kept.id) is not None


def test_only_the_run_holding_the_lease_settles_the_job(box):
    job = box.add()
    first = box.take(job.id)
    box.store.requeue(job.id, error="its worker went quiet")
    again = box.store.get(job.id)
    assert again.state is JobState.QUEUED and again.attempts == 1 and again.error == "its worker went quiet"
    second = box.take(job.id, worker=2, host="box-b")
    assert second.attempts == 2 and second.lease != first.lease and second.error is None
    with pytest.raises(LeaseLost):
        box.store.finish(job.id, job.path, box.output("cam1"), 3, lease=first.lease)
    with pytest.raises(LeaseLost):
        box.store.fail(job.id, job.path, "late", lease=first.lease)
    assert box.store.get(job.id).state is JobState.PROCESSING and box.store.get(job.id).host == "box-b"


def test_requeue_gives_back_the_attempt_and_a_waiting_job_is_not_taken(box):
    job = box.add()
    box.take(job.id)
    box.store.requeue(job.id, give_back_attempt=True, retry_at=time.time() + 60)
    waiting = box.store.get(job.id)
    assert (waiting.state, waiting.attempts, waiting.waits) == (JobState.QUEUED, 0, 1)
    assert box.take(job.id) is None  # not before its time
    box.store.requeue(job.id, give_back_attempt=True)
    assert box.take(job.id) is not None


def test_a_failed_job_is_retried_with_its_attempts_reset(box):
    job = box.add()
    assert box.store.retry(job.id, job.path) is False  # only failed jobs are retried
    taken = box.take(job.id)
    box.store.fail(job.id, box.footage("failed.mp4"), "not a video", lease=taken.lease)
    failed = box.store.get(job.id)
    assert (failed.state, failed.error, failed.finished is not None) == (JobState.FAILED, "not a video", True)
    assert box.store.retry(job.id, job.path) is True
    retried = box.store.get(job.id)
    assert (retried.state, retried.attempts, retried.error, retried.finished) == (JobState.QUEUED, 0, None, None)


def test_duplicates_by_content_and_failures_in_place(box):
    first = box.add("a.mp4")
    assert box.store.find_active_or_done(SHA).id == first.id  # queued counts: the same file dropped twice
    second = box.add("copy.mp4")
    box.store.mark_duplicate(second.id, first.id, box.footage("copy.mp4"))
    dup = box.store.get(second.id)
    assert (dup.state, dup.duplicate_of, dup.progress) == (JobState.DUPLICATE, first.id, 1.0)
    box.store.fail(first.id, box.footage("a.mp4"), "broken")
    assert box.store.find_active_or_done(SHA) is None  # a failed original is not an original
    inbox = str(box.root / "inbox" / "locked.mp4")
    stuck = box.store.add("locked.mp4", inbox, "cd" * 32, 5, source=inbox, state=JobState.FAILED, error="locked")
    assert box.store.failed_in_place(inbox).id == stuck.id and stuck.finished is not None


def test_a_split_recording_is_merged_once_after_its_last_part(box):
    parent = box.add()
    box.take(parent.id)
    parts = box.store.split(parent.id, 3, "split in 3 parts")
    assert [(p.part, p.kind, p.state) for p in parts] == [(n, JobKind.PART, JobState.QUEUED) for n in (1, 2, 3)]
    assert [p.name for p in parts] == [f"cam1.mp4 [part {n} of 3]" for n in (1, 2, 3)]
    assert box.store.get(parent.id).state is JobState.SPLIT
    assert box.store.counts()[JobState.SPLIT] == 1 and box.store.counts()[JobState.QUEUED] == 0  # parts not listed
    assert len(box.store.split(parent.id, 3, "again")) == 3  # a repeated split adds none
    merges = []
    for part in parts:
        box.take(part.id)
        box.store.progress(part.id, 0.5, 1, 10, 5.0, 1.0)
        merges.append(box.store.part_done(part.id, 20, 2))
    assert merges[:2] == [None, None] and merges[2] is not None and merges[2].kind is JobKind.MERGE
    assert box.store.part_done(parts[2].id, 20, 2) is None  # told twice: still one merge
    assert [j.kind for j in box.store.parts_of(parent.id)] == [JobKind.PART] * 3 + [JobKind.MERGE]
    rolled = box.store.get(parent.id)
    assert (rolled.progress, rolled.frames_analysed) == (1.0, 60)


def test_a_failed_part_fails_the_rest_but_not_what_is_done(box):
    parent = box.add()
    box.take(parent.id)
    parts = box.store.split(parent.id, 3, "split in 3 parts")
    box.take(parts[0].id)
    box.store.part_done(parts[0].id, 10, 1)
    box.store.cancel_parts(parent.id, "part 2 failed: unreadable")
    states = [(p.state, p.error) for p in box.store.parts_of(parent.id)]
    assert states == [(JobState.DONE, None)] + [(JobState.FAILED, "part 2 failed: unreadable")] * 2
    assert box.take(parts[1].id) is None


def test_two_workers_reaching_for_one_job_at_the_same_moment(box):
    """Eight threads take the same job at once (each with the run's lease): exactly one gets it."""
    for round_ in range(5):
        job = box.add(f"cam{round_}.mp4", sha=f"{round_:02d}" * 32)
        lease = box.store.get(job.id).lease or uuid.uuid4().hex
        won = race(8, lambda n, job_id=job.id, lease=lease: box.take(job_id, worker=n, lease=lease))
        assert len([w for w in won if w is not None]) == 1, f"round {round_}: {won}"
        taken = box.store.get(job.id)
        assert taken.attempts == 1 and taken.worker == next(w.worker for w in won if w is not None)


def race(threads: int, reach: Callable[[int], Job | None]) -> list[Job | None]:
    """``reach(n)`` from ``threads`` threads released together."""
    barrier = threading.Barrier(threads)
    found: list[Job | None] = [None] * threads

    def run(n: int) -> None:
        barrier.wait()
        found[n] = reach(n + 1)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return found


def test_a_jobs_outcome_and_its_events_are_written_together(box):
    box.store.register_channel("hook")
    job = box.add()
    taken = box.take(job.id)
    done = [NewEvent(EventType.RECORDING_DONE, {"job": job.id})]
    with pytest.raises(LeaseLost):
        box.store.finish(job.id, job.path, box.output("cam1"), 1, events=done, lease="not-the-lease")
    assert box.store.pending("hook") == []  # nothing told that did not happen
    box.store.finish(job.id, job.path, box.output("cam1"), 1, events=done, lease=taken.lease)
    (event,) = box.store.pending("hook")
    assert (event.type, event.data) == (EventType.RECORDING_DONE, {"job": job.id})


def test_the_outbox_keeps_each_channels_place_and_its_cap(box):
    box.store.emit([NewEvent(EventType.HEALTH, {"n": 0})])
    box.store.register_channel("mqtt")  # a new channel starts from now on
    assert box.store.pending("mqtt") == []
    box.store.emit([NewEvent(EventType.HEALTH, {"n": n}) for n in range(1, 4)])
    pending = box.store.pending("mqtt")
    assert [e.data["n"] for e in pending] == [1, 2, 3]
    assert box.store.delivery_failed("mqtt", "broker down") == 1 and box.store.delivery_failed("mqtt", "again") == 2
    box.store.delivered("mqtt", pending[1].id)
    box.store.channel_connected("mqtt", True)
    (channel,) = box.store.channels()
    assert (channel["name"], channel["backlog"], channel["attempts"], channel["error"]) == ("mqtt", 1, 0, None)
    assert channel["connected"] and [e.data["n"] for e in box.store.pending("mqtt")] == [3]
    box.store.emit([NewEvent(EventType.HEALTH, {"n": n}) for n in range(4, 10)])
    assert box.store.events_dropped() == 10 - CAP
    assert [e.data["n"] for e in box.store.pending("mqtt")] == list(range(10 - CAP, 10))


def test_the_worker_registry(box):
    now = time.time()
    beat = {"host": "box-a", "started": now}
    box.store.beat(WorkerBeat(name="box-a/1", pid=11, job=None, seen=now, backend="tflite", **beat))
    box.store.beat(WorkerBeat(name="box-a/2", pid=12, job=7, seen=now, backend="tf", **beat))
    box.store.beat(WorkerBeat(name="box-a/1", pid=11, job=5, seen=now + 1, backend="tflite", **beat))
    assert [(w.name, w.job) for w in box.store.workers()] == [("box-a/1", 5), ("box-a/2", 7)]
    box.store.gone("box-a/2")
    assert [w.name for w in box.store.workers()] == ["box-a/1"]


def test_the_operator_log_keeps_the_newest_first(box):
    for n in range(KEPT_EVENTS + 5):
        box.store.tell_operator("retention", f"line {n}")
    log = box.store.operator_log(limit=KEPT_EVENTS + 50)
    assert len(log) == KEPT_EVENTS and log[0]["message"] == f"line {KEPT_EVENTS + 4}"
    assert log[-1]["message"] == "line 5" and log[0]["kind"] == "retention"


def test_people_left_to_index(box):
    job = box.add()
    taken = box.take(job.id)
    box.store.finish(job.id, job.path, box.output("cam1"), 2, people_pending=True, lease=taken.lease)
    assert [j.id for j in box.store.people_pending()] == [job.id]
    box.store.register_channel("hook")
    box.store.people_indexed(job.id, [NewEvent(EventType.PERSON_SEEN, {"person": 1})])
    assert box.store.people_pending() == [] and [e.type for e in box.store.pending("hook")] == [EventType.PERSON_SEEN]


def test_totals_and_paths(box):
    a, b = box.add("a.mp4"), box.add("b.mp4", sha="cd" * 32)
    box.take(a.id)
    box.store.finish(a.id, box.footage("a-done.mp4"), box.output("a"), 5, frames=50)
    box.take(b.id)
    assert [j.id for j in box.store.processing()] == [b.id]
    totals = box.store.totals()
    assert (totals["faces"], totals["frames_analysed"]) == (5, 50) and totals["processing_seconds"] >= 0
    assert box.store.paths() == {box.footage("a-done.mp4"), box.footage("b.mp4")}
    assert [j.name for j in box.store.recent(state=JobState.DONE)] == ["a.mp4"]
