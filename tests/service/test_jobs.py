"""The SQLite job store: the state machine, order, duplicates, retries, counts and the event log."""

from __future__ import annotations

import sqlite3

import pytest

from appliance.service.jobs import KEPT_EVENTS, JobState
from appliance.service.queue.sqlite import SqliteJobStore


@pytest.fixture
def store(tmp_path) -> SqliteJobStore:
    return SqliteJobStore(tmp_path / "jobs.sqlite")


def test_a_job_goes_queued_processing_done(store):
    job = store.add("cam1/a.mp4", "/state/processing/cam1__a.mp4", "a" * 64, 100)
    assert job.state is JobState.QUEUED and job.attempts == 0
    claimed = store.claim(worker=2)
    assert claimed.id == job.id and claimed.state is JobState.PROCESSING
    assert (claimed.worker, claimed.attempts) == (2, 1) and claimed.started is not None
    store.progress(job.id, 0.5, faces=3, frames=10, fps=4.0, eta_s=12.0)
    assert (store.get(job.id).progress, store.get(job.id).faces) == (0.5, 3)
    store.finish(job.id, "/state/done/a.mp4", "/outbox/a", faces=4, frames=20)
    done = store.get(job.id)
    assert (done.state, done.progress, done.faces, done.frames_analysed, done.worker) == (JobState.DONE, 1, 4, 20, None)
    assert done.to_dict()["state"] == "done" and done.duration_s is not None
    assert store.outputs() == {"/outbox/a"}
    assert store.claim(worker=1) is None


def test_jobs_are_claimed_in_arrival_order_and_progress_only_counts_while_processing(store):
    ids = [store.add(f"{n}.mp4", f"/p/{n}.mp4", str(n) * 64, 1).id for n in range(3)]
    assert [store.claim(1).id for _ in ids] == ids
    store.finish(ids[0], "/d", "/o", 1)
    store.progress(ids[0], 0.2, 0, 0, 0.0, None)  # a late progress report must not reopen a finished job
    assert store.get(ids[0]).progress == 1 and store.get(ids[0]).state is JobState.DONE


def test_duplicates_by_content(store):
    first = store.add("a.mp4", "/p/a.mp4", "f" * 64, 1)
    assert store.find_active_or_done("f" * 64).id == first.id  # queued counts: the same file dropped twice
    second = store.add("copy.mp4", "/p/copy.mp4", "f" * 64, 1)
    store.mark_duplicate(second.id, first.id, "/d/copy.mp4")
    dup = store.get(second.id)
    assert (dup.state, dup.duplicate_of) == (JobState.DUPLICATE, first.id)
    store.claim(1)
    store.fail(first.id, "/f/a.mp4", "broken")
    assert store.find_active_or_done("f" * 64) is None  # a failed original is not an original


def test_fail_retry_and_requeue(store):
    job = store.add("a.mp4", "/p/a.mp4", "a" * 64, 1)
    store.claim(1)
    store.requeue(job.id)  # the worker died: back in the queue, the attempt counted
    again = store.claim(1)
    assert (again.state, again.attempts) == (JobState.PROCESSING, 2)
    store.fail(job.id, "/f/a.mp4", "not a video")
    assert store.retry(job.id, "/p/a.mp4") is True
    retried = store.get(job.id)
    assert (retried.state, retried.attempts, retried.error) == (JobState.QUEUED, 0, None)
    assert store.retry(job.id, "/p/a.mp4") is False  # only failed jobs are retried


def test_counts_totals_recent_and_processing(store):
    a = store.add("a.mp4", "/p/a", "a" * 64, 1)
    b = store.add("b.mp4", "/p/b", "b" * 64, 1)
    store.add("c.mp4", "/p/c", "c" * 64, 1)
    store.claim(1)
    store.finish(a.id, "/d/a", "/o/a", faces=5, frames=50)
    store.claim(1)
    expected = dict.fromkeys(JobState, 0) | {JobState.QUEUED: 1, JobState.PROCESSING: 1, JobState.DONE: 1}
    assert store.counts() == expected
    assert [j.id for j in store.processing()] == [b.id]
    assert [j.name for j in store.recent(limit=2)] == ["c.mp4", "b.mp4"]
    assert [j.name for j in store.recent(state=JobState.DONE)] == ["a.mp4"]
    totals = store.totals()
    assert (totals["faces"], totals["frames_analysed"]) == (5, 50) and totals["processing_seconds"] >= 0


def test_the_event_log_keeps_the_newest(store):
    for n in range(KEPT_EVENTS + 20):
        store.event("retention", f"event {n}")
    events = store.events(limit=KEPT_EVENTS + 100)
    assert len(events) <= KEPT_EVENTS + 1
    assert events[0]["message"] == f"event {KEPT_EVENTS + 19}"


def test_the_database_refuses_a_state_that_does_not_exist(store, tmp_path):
    store.add("a.mp4", "/p/a", "a" * 64, 1)
    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE jobs SET state='lost'")


def test_two_connections_see_one_queue(tmp_path):
    """The service and its worker processes each open the database: a job is claimed once."""
    one, two = SqliteJobStore(tmp_path / "jobs.sqlite"), SqliteJobStore(tmp_path / "jobs.sqlite")
    job = one.add("a.mp4", "/p/a", "a" * 64, 1)
    assert two.claim(1).id == job.id
    assert one.claim(2) is None
