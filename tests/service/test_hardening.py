"""Bad days and attacks on the service, each as the review reproduced it (issue #12, items 2-5, 8, 9, 12).

Items that need a second file system mount one (a read-only bind mount, a tiny tmpfs): the tests
run as root in CI, as the appliance's container test does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from appliance.service.jobs import MAX_ATTEMPTS, JobState
from appliance.service.queue.sqlite import SqliteJobStore
from appliance.service.service import Service
from appliance.settings import load
from tests.appliance_proc import ApplianceProcess

pytestmark = pytest.mark.slow  # real service processes

TOKEN = "a-token-for-the-hardening-tests-0123456789"


@contextmanager
def mounted(*args: str, target: Path):
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({done.stderr.strip()}): this test needs root")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


@contextmanager
def read_only_bind(source: Path, target: Path):
    with mounted("--bind", str(source), target=target):
        subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], check=True)
        yield target


@pytest.fixture
def appliance(tmp_path):
    procs: list[ApplianceProcess] = []

    def start(**kwargs) -> ApplianceProcess:
        proc = ApplianceProcess(tmp_path / "data", **kwargs).start()
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.close()


# -- 2. an inbox file that cannot be deleted ----------------------------------------------------------
def test_an_undeletable_inbox_file_is_recorded_once_and_never_copied(tmp_path, faces_dev):
    outside = tmp_path / "camera-share"
    outside.mkdir()
    shutil.copy(faces_dev / "voc_2008_001009.jpg", outside / "ro.jpg")
    settings = load(flags={"data": str(tmp_path / "data"), "settle_s": 0}, environ={})
    service = Service(settings)
    with read_only_bind(outside, service.inbox / "share"):
        for _ in range(6):  # six scans: today each one copied the file again
            service.watcher.scan()
            service.watcher.check()
            service.watcher.check()
        jobs = service.store.recent()
        assert len(jobs) == 1, [(j.name, j.state) for j in jobs]
        assert jobs[0].state is JobState.FAILED and "could not be taken from the inbox" in jobs[0].error
        assert "read-only" in jobs[0].error
        assert list(service.layout.processing.iterdir()) == []
        assert (service.inbox / "share" / "ro.jpg").exists()


# -- 3. a hung decoder --------------------------------------------------------------------------------
def test_a_worker_that_makes_no_progress_is_stopped_and_the_file_given_up(appliance, videos):
    """SIGSTOP stands in for a decoder stuck in FFmpeg: the worker lives on and does nothing."""
    app = appliance(env={"APPLIANCE_STALL_TIMEOUT_S": "5"})
    shutil.copy(videos / "facenet_pytorch_video.mp4", app.data / "inbox" / "hang.mp4")
    stopped: set[int] = set()
    unhealthy = False
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        jobs = app.jobs()
        if jobs and jobs[0]["state"] == "failed":
            break
        if jobs and jobs[0]["state"] == "processing":
            for pid in set(app.worker_pids()) - stopped:
                os.kill(pid, signal.SIGSTOP)
                stopped.add(pid)
            health = json.loads(_get_status(app, "/healthz"))
            unhealthy = unhealthy or (health["status"] == "degraded" and "stalled" in " ".join(health["problems"]))
        time.sleep(0.3)
    job = app.jobs()[0]
    assert job["state"] == "failed" and job["attempts"] == MAX_ATTEMPTS, job
    assert "no progress" in job["error"] and "given up after 3 attempts" in job["error"]
    assert unhealthy, "/healthz never reported the stalled job"
    assert len(stopped) == MAX_ATTEMPTS
    assert (app.data / "state" / "failed" / "hang.mp4").exists()
    assert app.get("/healthz")["status"] == "ok"  # a fresh worker is running again


def test_stopping_the_service_kills_a_hung_worker_and_counts_the_attempt(appliance, videos):
    app = appliance()
    shutil.copy(videos / "facenet_pytorch_video.mp4", app.data / "inbox" / "hang.mp4")
    app.wait_for(lambda: any(j["state"] == "processing" for j in app.jobs()), what="processing")
    for pid in app.worker_pids():
        os.kill(pid, signal.SIGSTOP)
    assert app.terminate(timeout=20) == 0
    assert "did not stop" in app.log() and "killing it" in app.log()
    store = SqliteJobStore(app.data / "state" / "jobs.sqlite")
    job = store.recent()[0]
    assert (job.state, job.attempts) == (JobState.QUEUED, 1)


# -- 4. a file swapped for a symlink or a FIFO --------------------------------------------------------
def _settled_after_swap(service: Service, name: str, swap) -> list[Path]:
    """The watcher notices ``name`` and records its size (first check), the name is swapped, then it settles
    again and is handed to the ingest: what was handed over."""
    service.watcher.scan()
    assert service.watcher.check() == [], "taken before it settled"
    swap(service.inbox / name)
    handed: list[Path] = []
    for _ in range(3):  # the change resets its settling; settle_s 0: the next check hands it over
        handed += service.watcher.check()
    return handed


def test_a_file_swapped_for_a_symlink_is_not_followed(tmp_path, faces_dev, caplog):
    secret = tmp_path / "elsewhere" / "private.jpg"
    secret.parent.mkdir()
    shutil.copy(faces_dev / "voc_2008_004176.jpg", secret)
    service = Service(load(flags={"data": str(tmp_path / "data"), "settle_s": 0}, environ={}))
    shutil.copy(faces_dev / "voc_2008_001009.jpg", service.inbox / "swap.jpg")

    def to_symlink(path: Path) -> None:
        path.unlink()
        os.symlink(secret, path)

    assert _settled_after_swap(service, "swap.jpg", to_symlink) == [service.inbox / "swap.jpg"]
    assert service.store.recent() == [] and list(service.layout.processing.iterdir()) == []
    assert secret.exists() and (service.inbox / "swap.jpg").is_symlink()
    assert "swap.jpg is a symlink (never followed)" in caplog.text


def test_a_fifo_in_the_inbox_does_not_stop_the_inbox(tmp_path, faces_dev, caplog):
    service = Service(load(flags={"data": str(tmp_path / "data"), "settle_s": 0}, environ={}))
    (service.inbox / "pipe.mp4").write_bytes(b"\x00" * 1000)

    def to_fifo(path: Path) -> None:  # noticed as a file, then swapped for a FIFO nobody writes to
        path.unlink()
        os.mkfifo(path)

    handed = _settled_after_swap(service, "pipe.mp4", to_fifo)
    assert handed == [service.inbox / "pipe.mp4"]  # handed over, and the ingest did not block on it
    assert "pipe.mp4 is not a regular file" in caplog.text
    shutil.copy(faces_dev / "voc_2008_001009.jpg", service.inbox / "after.jpg")
    _settled_after_swap(service, "after.jpg", lambda path: None)
    assert [(j.name, j.state) for j in service.store.recent()] == [("after.jpg", JobState.QUEUED)]
    assert (service.inbox / "pipe.mp4").exists()


# -- 5. names that are not UTF-8, and a power cut between the move and the record ---------------------
def test_a_latin1_file_name_is_processed_and_shown_escaped(appliance, faces_dev):
    app = appliance()
    raw = os.path.join(os.fsencode(app.data / "inbox"), b"caf\xe9.jpg")
    shutil.copy(faces_dev / "voc_2008_001009.jpg", raw)
    jobs = app.wait_idle(1, timeout=60)
    assert [(j["name"], j["state"]) for j in jobs] == [("caf\\xe9.jpg", "done")]
    assert (app.data / "state" / "done" / "caf\\xe9.jpg").exists()  # kept under the name it is shown as
    assert list((app.data / "outbox").glob("caf*"))


def test_what_a_power_cut_leaves_between_the_move_and_the_record_is_processed(tmp_path, faces_dev, appliance):
    state = tmp_path / "data" / "state"
    processing = state / "processing"
    processing.mkdir(parents=True)
    store = SqliteJobStore(state / "jobs.sqlite")
    # (a) recorded, then moved, then the power went: the job still says "received"
    moved = processing / "moved.jpg"
    shutil.copy(faces_dev / "voc_2008_001009.jpg", moved)
    store.add(
        "moved.jpg",
        str(moved),
        "a" * 64,
        moved.stat().st_size,
        source=str(tmp_path / "inbox-was-here.jpg"),
        state=JobState.RECEIVED,
    )
    # (b) an earlier version moved the file and died before recording it: no job at all
    shutil.copy(faces_dev / "voc_2008_004176.jpg", processing / "orphan.jpg")
    app = appliance()
    jobs = app.wait_idle(2, timeout=90)
    assert sorted((j["name"], j["state"]) for j in jobs) == [("moved.jpg", "done"), ("orphan.jpg", "done")]


# -- 8. durability --------------------------------------------------------------------------------------
def test_the_job_store_syncs_every_commit(tmp_path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite")
    assert store._db().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_results_are_synced_before_and_after_they_are_published(tmp_path, videos):
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed (make test installs it: scripts/system-deps.sh)")
    log = tmp_path / "strace.log"
    out = tmp_path / "out"
    cmd = [
        "strace",
        "-f",
        "-y",
        "-qq",
        "-e",
        "trace=fsync,rename,renameat,renameat2",
        "-o",
        str(log),
        *_appliance(),
        "extract",
        "-q",
        "--backend",
        "tflite",
        "-o",
        str(out),
        str(videos / "carphone_pristine.mp4"),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    lines = log.read_text().splitlines()
    publish = next(i for i, line in enumerate(lines) if "rename" in line and ".partial-" in line and "carphone" in line)
    synced = {line.split("<", 1)[1].split(">", 1)[0] for line in lines[:publish] if "fsync(" in line}
    partial = lines[publish].split('"')[1]
    for name in ("manifest.json", "faces.csv", "tracks/track-0001.jpg", "faces/person-0001.jpg"):
        assert f"{partial}/{name}" in synced, f"{name} not synced before publishing"
    assert f"{partial}/faces" in synced and partial in synced  # the folders too
    after = [line for line in lines[publish + 1 :] if "fsync(" in line]
    assert any(f"<{out}>" in line for line in after), "the outbox was not synced after the rename"


def test_an_empty_secret_key_left_by_a_power_cut_is_made_again(tmp_path):
    from appliance.web import create_app

    settings = load(flags={"data": str(tmp_path)}, environ={})
    service = Service(settings)
    service.layout.secret_key.write_bytes(b"")
    app = create_app(settings, service.store, service=service)
    assert app.test_client().get("/").status_code == 200
    assert len(service.layout.secret_key.read_bytes()) == 32


# -- 9. a full disk -----------------------------------------------------------------------------------
def test_a_full_disk_puts_the_job_back_keeps_the_footage_and_says_so(appliance, videos, tmp_path):
    outbox = tmp_path / "small-outbox"
    with mounted("-t", "tmpfs", "-o", "size=4k", "tmpfs", target=outbox):
        app = appliance(args=["--outbox", str(outbox)], env={"APPLIANCE_DISK_FULL_RETRY_S": "3"})
        shutil.copy(videos / "carphone_pristine.mp4", app.data / "inbox" / "car.mp4")
        app.wait_for(lambda: any(j["waits"] >= 1 for j in app.jobs()), timeout=120, what="a disk-full wait")
        job = app.jobs()[0]
        assert job["state"] in ("queued", "processing") and job["attempts"] <= 1
        assert (app.data / "state" / "processing" / "car.mp4").exists()
        health = json.loads(_get_status(app, "/healthz"))
        assert health["status"] == "degraded" and health["disk_full"] is True
        assert "appliance_disk_full 1.0" in app.get("/metrics").decode()
        assert any(e["kind"] == "disk full" for e in app.get("/api/status")["events"])
        subprocess.run(["mount", "-o", "remount,size=200m", str(outbox)], check=True)
        jobs = app.wait_idle(1, timeout=120)
        assert jobs[0]["state"] == "done" and jobs[0]["faces"] == 1
        assert app.get("/healthz")["status"] == "ok"


# -- 12. the token stays out of the workers ----------------------------------------------------------
def test_workers_are_not_given_the_token(appliance):
    app = appliance(env={"APPLIANCE_TOKEN": TOKEN})
    pids = app.worker_pids()
    assert pids
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"APPLIANCE_TOKEN" not in environ and TOKEN.encode() not in environ
        assert TOKEN.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()


def _get_status(app: ApplianceProcess, path: str) -> str:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(app.url + path, timeout=10) as response:
            return response.read().decode()
    except urllib.error.HTTPError as err:
        return err.read().decode()


def _appliance() -> list[str]:
    import sys

    return [sys.executable, "-m", "appliance.cli"]
