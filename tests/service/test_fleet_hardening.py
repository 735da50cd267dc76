"""Issue 23 #2 and #3: what a Redis writer can make a worker box do, and what a worker box's job process holds.

One real worker box (``appliance worker``, started with the page's token and the events' secrets in its
environment, as a careless env file would give them) on a real Redis with no password on loopback. The
tests write to that Redis as an attacker would: with RQ's own client, and with raw job records.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job as RqJob
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from appliance.service.jobs import Job, JobState
from appliance.service.queue.redis import PREFIX, RQ_QUEUE, TASK, RedisJobStore
from appliance.service.queue.redis_records import PathMap
from tests.appliance_proc import WorkerBox
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow  # a real Redis, a real worker box

TOKEN = "the-page-token-never-in-a-worker-0123456789"
WEBHOOK_SECRET = "webhook-secret-never-in-a-worker-0123456789"
SECRETS_ENV = {
    "APPLIANCE_TOKEN": TOKEN,
    "APPLIANCE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "APPLIANCE_WEBHOOKS": "http://hook-user:hook-password-in-the-url@127.0.0.1:9/secret-path",
    "APPLIANCE_MQTT": "mqtt://mqtt-user:mqtt-password-in-the-url@127.0.0.1:9/faces",
}
ENDED = (JobStatus.FAILED, JobStatus.FINISHED, JobStatus.STOPPED, JobStatus.CANCELED)


class Box:
    def __init__(self, root: Path, redis: RedisServer, worker: WorkerBox) -> None:
        self.root, self.redis, self.worker = root, redis, worker
        self.data = root / "data"
        self.store = RedisJobStore(redis.url, _paths(self.data))

    def wait_ended(self, run_id: str, serializer: object = None) -> RqJob:
        """Until the run has ended (the worker took it); the worker box must still be there."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run = RqJob.fetch(run_id, connection=self.store.r, serializer=serializer)
            if run.get_status(refresh=True) in ENDED:
                return run
            assert self.worker.proc is not None and self.worker.proc.poll() is None, self.worker.log()[-3000:]
            time.sleep(0.2)
        raise TimeoutError(f"run {run_id} was not taken; worker log:\n{self.worker.log()[-3000:]}")


def _paths(data: Path) -> PathMap:
    return PathMap((("state", data / "state"), ("outbox", data / "outbox"), ("inbox", data / "inbox")))


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet-hardening")
    redis = RedisServer(root / "redis").start()
    data = root / "data"
    for folder in ("inbox", "outbox", "state/processing", "state/done", "state/failed"):
        (data / folder).mkdir(parents=True)
    env = {"APPLIANCE_SCAN": "false", "APPLIANCE_PEOPLE": "false", **SECRETS_ENV}
    worker = WorkerBox(data, "box-h", redis.url, env)
    worker.log_path = root / "worker.log"
    worker.log_path.touch()
    found = Box(root, redis, worker.start())
    yield found
    worker.close()
    redis.stop()


# -- #2: a Redis writer ------------------------------------------------------------------------------
@pytest.mark.parametrize("serializer", [None, JSONSerializer], ids=["pickle", "json"])
def test_a_run_naming_another_function_is_refused_and_the_box_goes_on(box, serializer):
    """``Queue.enqueue_call('os.system', ...)`` with RQ's own client: never run, the run failed, the box alive."""
    pwned = box.root / f"pwned-{'json' if serializer else 'pickle'}"
    queue = Queue(RQ_QUEUE, connection=box.store.r, serializer=serializer)
    run = queue.enqueue_call("os.system", args=(f"id > {pwned}",))
    ended = box.wait_ended(run.id, serializer)
    assert not pwned.exists()
    assert ended.get_status() == JobStatus.FAILED
    assert box.worker.proc.poll() is None


def test_a_job_record_pointing_out_of_the_box_folders_is_refused(box, faces_dev):
    """A raw record with ``state:../../victim/secret.jpg`` and its run: refused, the file untouched."""
    victim = box.root / "victim" / "secret.jpg"
    victim.parent.mkdir()
    shutil.copy(next(iter(sorted(faces_dev.glob("*.jpg")))), victim)
    before = victim.read_bytes()
    job_id = int(box.store.r.incr(f"{PREFIX}next_id"))
    lease = f"appl-attacker-{job_id}"
    digest = hashlib.sha256(before).hexdigest()
    job = Job(
        id=job_id, name="secret.jpg", path="", sha256=digest, size=len(before), state=JobState.QUEUED, lease=lease
    )
    record = json.loads(box.store._dump(job))
    record["path"] = "state:../../victim/secret.jpg"
    box.store.r.set(f"{PREFIX}job:{job_id}", json.dumps(record))
    box.store.r.sadd(f"{PREFIX}state:queued", job_id)
    box.store.rq.enqueue_call(TASK, args=(job_id, lease), job_id=lease, timeout=-1)  # as the store makes runs

    ended = box.wait_ended(lease, box.store.rq.serializer)
    assert victim.read_bytes() == before
    assert list((box.data / "outbox").iterdir()) == []
    assert ended.get_status() == JobStatus.FAILED
    assert "is not a plain path inside the state folder" in (ended.latest_result().exc_string or "")
    assert "refused" in box.worker.log()


# -- #3: the token and the events' secrets stay out of the process that runs jobs -------------------
def test_the_process_that_runs_jobs_has_no_secret_in_its_environment(box):
    pids = _job_processes(box.worker)
    assert pids, "no worker process found"
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        for name, value in SECRETS_ENV.items():
            assert name.encode() not in environ and value.encode() not in environ, name


def _job_processes(worker: WorkerBox) -> list[int]:
    """The worker box's spawned workers: RQ's SimpleWorker runs each job in one of them."""
    assert worker.proc is not None
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"PPid:\t{worker.proc.pid}\n" in status and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def test_a_worker_refuses_a_redis_with_no_password_on_another_host(tmp_path):
    """Off loopback, a queue with no password is refused before anything connects (unless allowed)."""
    (tmp_path / "state" / "processing").mkdir(parents=True)
    (tmp_path / "outbox").mkdir()
    env = {"PATH": "/usr/bin:/bin", "APPLIANCE_QUEUE": "redis://192.0.2.10:6379/0"}
    cmd = [sys.executable, "-m", "appliance.cli", "worker", "--data", str(tmp_path)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "setting 'queue'" in done.stderr and "no password" in done.stderr and "allow_insecure_queue" in done.stderr


def test_workers_are_given_no_secret_and_cannot_read_the_process_that_holds_them():
    """The settings a worker gets, and the main process made non-dumpable (its /proc files root's only)."""
    from appliance.service.pool import worker_settings
    from appliance.settings import load

    full = load(environ=SECRETS_ENV)
    given = worker_settings(full).model_dump_json()
    assert full.web.token is not None and full.events.webhooks
    for value in SECRETS_ENV.values():
        assert value.split("@")[0] not in given
    probe = (
        "import ctypes, os\n"
        "from appliance.service.pool import shield_from_workers\n"
        "shield_from_workers()\n"
        "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0), sorted(k for k in os.environ if k.startswith('APPLIANCE_')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], env={**SECRETS_ENV, "APPLIANCE_BOX": "b"},
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    assert done.stdout.split() == ["0", "['APPLIANCE_BOX']"], done.stdout + done.stderr
