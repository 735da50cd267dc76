"""A fleet for real: an ingest box (``appliance serve``, no workers) and worker boxes (``appliance worker``)
sharing one Redis and one data folder, on this machine. Each box is its own process group with its own
name, so a box can lose power (kill -9 of the group), its folders, or its Redis."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.appliance_proc import ApplianceProcess, WorkerBox
from tests.clips import short_gop
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.slow  # real boxes, a real Redis

FLEET_ENV = {"APPLIANCE_WORKERS": "0", "APPLIANCE_SCAN": "false", "APPLIANCE_PEOPLE": "false"}
WORKER_ENV = {"APPLIANCE_SCAN": "false", "APPLIANCE_PEOPLE": "false"}


class Fleet:
    def __init__(self, root: Path, redis: RedisServer) -> None:
        self.root, self.redis = root, redis
        self.data = root / "data"
        self.ingest: ApplianceProcess | None = None
        self.workers: dict[str, WorkerBox] = {}

    def start_ingest(self, **env: str) -> ApplianceProcess:
        self.ingest = ApplianceProcess(self.data, env={**FLEET_ENV, "APPLIANCE_QUEUE": self.redis.url, **env})
        return self.ingest.start()

    def start_worker(self, box: str, data: Path | None = None, ready: bool = True, **env: str) -> WorkerBox:
        worker = WorkerBox(data or self.data, box, self.redis.url, {**WORKER_ENV, **env})
        worker.log_path = self.root / f"worker-{box}.log"
        self.workers[box] = worker.start(ready=ready)
        return worker

    def job(self, job_id: int) -> dict:
        assert self.ingest is not None
        return self.ingest.get(f"/api/jobs/{job_id}")

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()
        if self.ingest is not None:
            self.ingest.close()


@pytest.fixture
def fleet(tmp_path):
    redis = RedisServer(tmp_path / "redis").start()
    found = Fleet(tmp_path, redis)
    yield found
    found.close()
    redis.stop()


def outputs(data: Path) -> list[str]:
    return sorted(p.name for p in (data / "outbox").iterdir() if not p.name.startswith("."))


def test_boxes_share_the_queue_and_a_long_recording_is_split_between_them(fleet, faces_dev, videos, tmp_path):
    """The ingest box and two worker boxes, 20 photos and a recording split in 4: each done once."""
    app = fleet.start_ingest(APPLIANCE_SPLIT_S="2.2")
    fleet.start_worker("box-a", APPLIANCE_SPLIT_S="2.2")
    fleet.start_worker("box-b", APPLIANCE_SPLIT_S="2.2")
    photos = sorted(faces_dev.glob("*.jpg"))[:20]
    for photo in photos:
        shutil.copy(photo, app.data / "inbox" / photo.name)
    short_gop(videos, app.data / "inbox" / "walk.mp4", loops=1)  # 8.4 s, 21 keyframes

    jobs = app.wait_idle(len(photos) + 1, timeout=400)
    assert [j["state"] for j in jobs] == ["done"] * (len(photos) + 1), jobs
    assert outputs(app.data) == sorted([p.stem for p in photos] + ["walk"])  # each file once
    hosts = {j["host"] for j in jobs}
    walk = next(j for j in jobs if j["name"] == "walk.mp4")
    parts = fleet.job(walk["id"])["parts"]
    assert [p["kind"] for p in parts] == ["part"] * 4 + ["merge"] and all(p["state"] == "done" for p in parts)
    assert all(p["attempts"] == 1 for p in parts)
    hosts |= {p["host"] for p in parts}
    assert hosts >= {"box-a", "box-b"}, hosts  # both boxes worked
    manifest = json.loads((app.data / "outbox" / "walk" / "manifest.json").read_text())
    assert manifest["stats"]["parts"] == 4 and len(manifest["tracks"]) >= 7
    assert not list((app.data / "state" / "parts").iterdir()), "the parts' work folders are removed after the merge"
    assert sorted(p.name for p in (app.data / "state" / "done").iterdir()) == sorted(
        [p.name for p in photos] + ["walk.mp4"]
    )
    workers = app.get("/api/workers")["workers"]
    assert {w["host"] for w in workers} == {"box-a", "box-b"}


def test_a_worker_box_that_loses_power_mid_part_is_replaced(fleet, videos):
    app = fleet.start_ingest(APPLIANCE_SPLIT_S="3")
    # its runs are abandoned 5 s after a missed heartbeat (the default 35 s only makes this test wait longer)
    doomed = fleet.start_worker("box-a", APPLIANCE_SPLIT_S="3", APPLIANCE_HEARTBEAT_GRACE_S="5")
    short_gop(videos, app.data / "inbox" / "long.mp4", loops=3)  # 17 s, 5 parts

    def part_running_on_box_a():
        for job in app.jobs():
            if job["state"] == "split":
                running = [p for p in fleet.job(job["id"])["parts"] if p["state"] == "processing"]
                if any(p["host"] == "box-a" and p["progress"] > 0 for p in running):
                    return job
        return None

    parent = app.wait_for(part_running_on_box_a, 180, "a part running on box-a")
    doomed.kill()
    killed = time.monotonic()
    fleet.start_worker("box-b", APPLIANCE_SPLIT_S="3")

    def retried_on_box_b():
        parts = fleet.job(parent["id"])["parts"]
        return any(p["attempts"] == 2 and p["host"] == "box-b" for p in parts)

    app.wait_for(retried_on_box_b, 240, "the lost part running again on box-b")
    print(f"the lost part ran again on box-b {time.monotonic() - killed:.0f} s after box-a died")
    jobs = app.wait_idle(1, timeout=300)  # the silent box is noticed within its heartbeat timeout (10 + 5 s)
    assert jobs[0]["state"] == "done", jobs
    parts = fleet.job(parent["id"])["parts"]
    assert all(p["state"] == "done" for p in parts)
    retried = [p for p in parts if p["attempts"] == 2]
    assert len(retried) == 1 and retried[0]["host"] == "box-b", parts
    assert outputs(app.data) == ["long"]
    manifest = json.loads((app.data / "outbox" / "long" / "manifest.json").read_text())
    assert manifest["stats"]["parts"] == len([p for p in parts if p["kind"] == "part"]) >= 4
    said = " ".join(e["message"] for e in app.get("/api/status")["events"])
    assert "taken back: its worker (box-a) stopped sending heartbeats" in said, said


def test_nothing_is_lost_when_redis_restarts_mid_run(fleet, faces_dev):
    app = fleet.start_ingest()
    fleet.start_worker("box-a")
    photos = sorted(faces_dev.glob("*.jpg"))[10:22]
    for photo in photos:
        shutil.copy(photo, app.data / "inbox" / photo.name)
    app.wait_for(lambda: any(j["state"] == "done" for j in app.jobs()), 120, "the first photo done")
    fleet.redis.stop()  # fsync'd append-only file: the queue survives
    time.sleep(3)
    fleet.redis.start()
    jobs = app.wait_idle(len(photos), timeout=300)
    assert [j["state"] for j in jobs] == ["done"] * len(photos), jobs
    assert outputs(app.data) == sorted(p.stem for p in photos)
    assert fleet.workers["box-a"].proc.poll() is None, "the worker box rode out the restart"


def test_a_box_that_loses_the_shared_folders_hands_its_job_back(fleet, faces_dev, tmp_path):
    app = fleet.start_ingest()
    mount = tmp_path / "mnt-data"
    mount.symlink_to(app.data)  # box-a's view of the shared folder (an NFS mount)
    fleet.start_worker("box-a", data=mount)
    mount.unlink()  # the mount is gone
    photo = sorted(faces_dev.glob("*.jpg"))[30]
    shutil.copy(photo, app.data / "inbox" / photo.name)

    def handed_back():
        return [e for e in app.get("/api/status")["events"] if "handed back" in e["message"]]

    events = app.wait_for(handed_back, 120, "box-a handing the job back")
    assert "box-a" in events[0]["message"]
    fleet.start_worker("box-b")
    jobs = app.wait_idle(1, timeout=120)
    assert jobs[0]["state"] == "done" and jobs[0]["host"] == "box-b", jobs
    assert outputs(app.data) == [photo.stem]


def test_a_worker_box_says_plainly_what_is_wrong(tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "APPLIANCE_QUEUE": f"redis://:pw@127.0.0.1:{free_port()}/0"}
    cmd = [sys.executable, "-m", "appliance.cli", "worker", "--data", str(data)]
    (data / "state" / "processing").mkdir(parents=True)
    (data / "outbox").mkdir()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "does not answer" in result.stderr and ":pw@" not in result.stderr
    env.pop("APPLIANCE_QUEUE")
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "APPLIANCE_QUEUE" in result.stderr
    shutil.rmtree(data / "outbox")
    env["APPLIANCE_QUEUE"] = "redis://127.0.0.1:1/0"
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "shared folders are not there" in result.stderr
