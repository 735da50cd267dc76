"""What only the embedded store (SQLite) does: workers poll it (``claim``), in order, from several processes; its
schema refuses states that do not exist. Everything both stores do: ``test_store_contract.py``."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from appliance.service.jobs import JobState
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


def test_a_merge_is_claimed_before_parts_and_parts_before_new_recordings(store):
    waiting = store.add("new.mp4", "/p/new.mp4", "b" * 64, 1)
    parent = store.add("long.mp4", "/p/long.mp4", "a" * 64, 1)
    store.start(parent.id, 1, "box", "lease")
    first, second = store.split(parent.id, 2, "split in 2 parts")
    assert store.claim(1).id == first.id
    store.part_done(first.id, 1, 0)
    assert store.claim(1).id == second.id
    merge = store.part_done(second.id, 1, 0)
    store.add("newer.mp4", "/p/newer.mp4", "c" * 64, 1)
    assert [store.claim(1).id, store.claim(1).id] == [merge.id, waiting.id]


def test_the_database_refuses_a_state_that_does_not_exist(store, tmp_path):
    store.add("a.mp4", "/p/a", "a" * 64, 1)
    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE jobs SET state='lost'")


def test_workers_polling_at_the_same_moment_each_claim_a_different_job(tmp_path):
    """The service's worker processes each open the database and poll it: released together, eight claimers
    (each its own connection) take three jobs once each, and the rest find nothing."""
    first = SqliteJobStore(tmp_path / "jobs.sqlite")
    ids = {first.add(f"{n}.mp4", f"/p/{n}", str(n) * 64, 1).id for n in range(3)}
    stores = [SqliteJobStore(tmp_path / "jobs.sqlite") for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    claimed: list[int | None] = [None] * len(stores)

    def claim(n: int) -> None:
        barrier.wait()
        job = stores[n].claim(n + 1)
        claimed[n] = None if job is None else job.id

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [job_id for job_id in claimed if job_id is not None]
    assert sorted(taken) == sorted(ids)
    assert all(first.get(job_id).attempts == 1 for job_id in ids)


def test_a_database_of_the_first_release_is_brought_up_to_this_schema(tmp_path):
    """No new column, no 'received' or 'split' state in its CHECK: the job is kept and takes today's moves."""
    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    db.executescript(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, path TEXT NOT NULL, "
        "sha256 TEXT NOT NULL, size INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN "
        "('queued','processing','done','failed','duplicate')), progress REAL NOT NULL DEFAULT 0, error TEXT, "
        "output TEXT, faces INTEGER NOT NULL DEFAULT 0, frames_analysed INTEGER NOT NULL DEFAULT 0, "
        "analysis_fps REAL NOT NULL DEFAULT 0, eta_s REAL, attempts INTEGER NOT NULL DEFAULT 0, worker INTEGER, "
        "created REAL NOT NULL, started REAL, finished REAL, updated REAL NOT NULL, duplicate_of INTEGER);"
        "INSERT INTO jobs (name, path, sha256, size, state, created, updated, faces) "
        "VALUES ('old.mp4', '/p/old.mp4', 'aaaa', 5, 'done', 1, 1, 3);"
        "INSERT INTO jobs (name, path, sha256, size, state, created, updated) "
        "VALUES ('long.mp4', '/p/long.mp4', 'bbbb', 5, 'queued', 1, 1);"
    )
    db.close()
    store = SqliteJobStore(tmp_path / "jobs.sqlite")
    old = store.get(1)
    assert (old.name, old.state, old.faces, old.kind, old.people_pending) == (
        "old.mp4",
        JobState.DONE,
        3,
        "recording",
        False,
    )
    store.start(2, 1, "box", "lease")
    assert [p.part for p in store.split(2, 2, "split in 2 parts")] == [1, 2]
    assert store.get(2).state is JobState.SPLIT
    assert store.add("new.mp4", "/p/new.mp4", "c" * 64, 1, state=JobState.RECEIVED).state is JobState.RECEIVED
