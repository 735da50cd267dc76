"""What only the fleet's store (a real Redis) does: RQ runs made in the same transaction as the job, paths kept
relative to each box's folders, a password. The job life both stores share: ``test_store_contract.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.service.jobs import JobState, LeaseLost
from appliance.service.queue.redis import RedisJobStore
from appliance.service.queue.redis_connect import QueueUnreachable, redacted
from appliance.service.queue.redis_records import PathMap
from appliance.service.queue.runs import RUN_SERIALIZER, ApplianceRun
from tests.redis_server import RedisServer, free_port, redis_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow  # a real redis-server


def paths_of(root: Path) -> PathMap:
    return PathMap((("state", root / "state"), ("outbox", root / "outbox"), ("inbox", root / "inbox")))


@pytest.fixture
def store(redis_server, tmp_path):  # noqa: F811
    return RedisJobStore(redis_server.url, paths_of(tmp_path / "a"))


def add(store: RedisJobStore, root: Path, name: str = "cam1.mp4", sha: str = "ab" * 32):
    return store.add(name, str(root / "state" / "processing" / name), sha, 1000)


def test_a_queued_job_gets_its_rq_run_and_only_that_run_may_take_it(store, tmp_path):
    job = add(store, tmp_path / "a")
    assert job.state is JobState.QUEUED and job.lease
    run = ApplianceRun.fetch(job.lease, connection=store.r, serializer=RUN_SERIALIZER)
    assert list(run.args) == [job.id, job.lease] and run.func_name.endswith("run_job")
    assert store.rq.job_ids == [job.lease]

    assert store.start(job.id, 1, "box-b", "appl-not-the-lease") is None
    taken = store.start(job.id, 1, "box-b", job.lease)
    assert taken is not None and taken.state is JobState.PROCESSING and taken.host == "box-b" and taken.attempts == 1
    assert store.start(job.id, 1, "box-c", job.lease) is None  # a repeated run finds it taken

    store.requeue(job.id, error="the shared folders are not there on box-b")
    again = store.get(job.id)
    assert again.state is JobState.QUEUED and again.lease != job.lease and again.error
    with pytest.raises(LeaseLost):
        store.finish(job.id, again.path, "out", 3, lease=job.lease)  # the old run may not publish
    store.start(job.id, 2, "box-c", again.lease)
    store.finish(job.id, again.path, str(tmp_path / "a" / "outbox" / "cam1"), 3, lease=again.lease)
    assert store.get(job.id).state is JobState.DONE
    assert store.counts()[JobState.DONE] == 1


def test_boxes_read_paths_in_their_own_folders(redis_server, tmp_path):  # noqa: F811
    here = RedisJobStore(redis_server.url, paths_of(tmp_path / "a"))
    there = RedisJobStore(redis_server.url, paths_of(tmp_path / "mnt" / "b"))
    job = add(here, tmp_path / "a")
    raw = here.r.get(here._key(job.id)).decode()
    assert '"state:processing/cam1.mp4"' in raw and str(tmp_path) not in raw
    assert there.get(job.id).path == str(tmp_path / "mnt" / "b" / "state" / "processing" / "cam1.mp4")


def test_an_unreachable_queue_is_named_without_its_password():
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    with pytest.raises(QueueUnreachable) as caught:
        RedisJobStore(url, paths_of(Path("/nonexistent")))
    assert "127.0.0.1" in str(caught.value) and "hunter2" not in str(caught.value)
    assert redacted(url).startswith("redis://:***@127.0.0.1:")


def test_a_password_protected_queue(tmp_path):
    server = RedisServer(tmp_path / "redis", password="s3cret-pw").start()
    try:
        store = RedisJobStore(server.url, paths_of(tmp_path / "a"))
        assert add(store, tmp_path / "a").state is JobState.QUEUED
        wrong = server.url.replace("s3cret-pw", "wrong")
        with pytest.raises(QueueUnreachable) as caught:
            RedisJobStore(wrong, paths_of(tmp_path / "a"))
        assert "wrong" not in str(caught.value)
    finally:
        server.stop()
