"""``appliance serve`` for real: watchdog on a temporary inbox, worker processes, faults."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.appliance_proc import ApplianceProcess
from tests.clips import bad_inputs

pytestmark = pytest.mark.slow  # whole clips, real processes or model conversion


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


def outputs(data: Path, stem: str) -> list[Path]:
    return sorted(p for p in (data / "outbox").iterdir() if p.name == stem or p.name.startswith(stem + "-"))


def test_slow_chunked_copy_is_taken_once_when_complete(appliance, videos):
    app = appliance()
    source = (videos / "carphone_pristine.mp4").read_bytes()
    target = app.data / "inbox" / "cam1" / "slow.mp4"
    target.parent.mkdir(parents=True)
    with open(target, "wb") as handle:  # a slow network copy: 8 chunks, 0.4 s apart (settle time is 1 s)
        step = len(source) // 8 + 1
        for start in range(0, len(source), step):
            handle.write(source[start : start + step])
            handle.flush()
            time.sleep(0.4)
            assert app.jobs() == [], "taken before the copy finished"
    jobs = app.wait_idle(1)
    assert len(jobs) == 1 and jobs[0]["state"] == "done", jobs
    assert jobs[0]["name"] == "cam1/slow.mp4" and jobs[0]["faces"] == 1
    assert not target.exists()
    assert (app.data / "state" / "done" / "cam1__slow.mp4").read_bytes() == source
    assert len(outputs(app.data, "slow")) == 1


def test_bad_files_fail_with_a_reason_and_the_service_goes_on(appliance, videos, tmp_path):
    app = appliance()
    inbox = app.data / "inbox"
    (inbox / ".hidden.mp4").write_bytes(b"x")  # temporary and hidden names are never taken
    (inbox / "copying.mp4.part").write_bytes(b"x")
    for name, path in bad_inputs(tmp_path, videos).items():
        shutil.copy(path, inbox / name)
    jobs = app.wait_idle(4)
    assert {j["name"]: j["state"] for j in jobs} == dict.fromkeys(
        ["empty.mp4", "notes.mp4", "cut.mp4", "cut-faststart.mp4"], "failed"
    )
    failed = app.data / "state" / "failed"
    for job in jobs:
        assert job["error"]
        reason = (failed / (job["name"] + ".error.txt")).read_text()
        assert reason.strip() == job["error"]
        assert (failed / job["name"]).exists()
    assert (failed / "cut.mp4").stat().st_size == (tmp_path / "bad" / "cut.mp4").stat().st_size
    assert (inbox / ".hidden.mp4").exists() and (inbox / "copying.mp4.part").exists()
    assert app.get("/healthz")["status"] == "ok"
    shutil.copy(videos / "carphone_pristine.mp4", inbox / "good.mp4")
    jobs = app.wait_idle(5)
    assert [j["state"] for j in jobs if j["name"] == "good.mp4"] == ["done"]


def test_kill_9_mid_video_then_restart_gives_exactly_one_output(appliance, videos):
    app = appliance()
    shutil.copy(videos / "facenet_pytorch_video.mp4", app.data / "inbox" / "walk.mp4")
    app.wait_for(
        lambda: any(j["state"] == "processing" and j["progress"] > 0.1 for j in app.jobs()), what="processing under way"
    )
    app.kill()
    assert list((app.data / "outbox").glob(".partial-*")), "expected a half-written result to clean up"
    assert (app.data / "state" / "processing" / "walk.mp4").exists()
    again = appliance()
    jobs = again.wait_idle(1)
    assert [(j["name"], j["state"], j["attempts"]) for j in jobs] == [("walk.mp4", "done", 2)]
    assert len(outputs(again.data, "walk")) == 1
    assert not list((again.data / "outbox").glob(".partial-*"))
    assert (again.data / "state" / "done" / "walk.mp4").exists()
    assert "re-queued (attempt 1 of 3): the service stopped while it ran" in again.log()


def test_duplicates_and_a_burst_of_50_files(appliance, faces_dev, annotations):
    app = appliance()
    inbox = app.data / "inbox"
    names = sorted(annotations)[:50]
    for name in names:
        shutil.copy(faces_dev / name, inbox / name)
    shutil.copy(faces_dev / names[0], inbox / "copy-of-first.jpg")
    jobs = app.wait_idle(51, timeout=600)
    states = [j["state"] for j in jobs]
    assert states.count("done") == 50 and states.count("duplicate") == 1
    dup = next(j for j in jobs if j["state"] == "duplicate")
    assert dup["duplicate_of"] == next(j["id"] for j in jobs if j["name"] == names[0])
    assert len([p for p in (app.data / "outbox").iterdir() if p.is_dir()]) == 50
    assert len(list((app.data / "state" / "done").iterdir())) == 51  # footage kept, duplicate too
    worker_rss_mb = _worker_rss_mb(app)
    assert worker_rss_mb < 1500, f"worker RSS {worker_rss_mb:.0f} MB after 50 jobs"


def _worker_rss_mb(app: ApplianceProcess) -> float:
    import os

    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            if f"PPid:\t{app.proc.pid}\n" in status:
                rss = next(line for line in status.splitlines() if line.startswith("VmRSS"))
                total = max(total, int(rss.split()[1]) / 1024)
        except (OSError, StopIteration):
            continue
    assert total > 0, "no worker process found"
    return total


def test_sigterm_stops_gracefully_and_requeues_the_current_job(appliance, videos):
    app = appliance()
    shutil.copy(videos / "facenet_pytorch_video.mp4", app.data / "inbox" / "walk.mp4")
    app.wait_for(lambda: any(j["state"] == "processing" for j in app.jobs()), what="processing")
    assert app.terminate(timeout=15) == 0
    assert not list((app.data / "outbox").glob(".partial-*"))
    assert "re-queued: service stopping" in app.log()
    assert "did not stop" not in app.log()  # the worker stopped within its grace, not killed
    again = appliance()
    jobs = again.wait_idle(1)
    assert jobs[0]["state"] == "done" and len(outputs(again.data, "walk")) == 1


def test_ctrl_c_to_the_whole_process_group_stops_cleanly(appliance, videos):
    """Ctrl-C on `make run` signals the service and its workers at once: no deadlock, job re-queued."""
    import os
    import signal

    app = appliance()
    shutil.copy(videos / "facenet_pytorch_video.mp4", app.data / "inbox" / "walk.mp4")
    app.wait_for(lambda: any(j["state"] == "processing" for j in app.jobs()), what="processing")
    os.killpg(app.proc.pid, signal.SIGINT)
    assert app.proc.wait(timeout=15) == 0
    assert "appliance.service: stopped" in app.log()
    assert not list((app.data / "outbox").glob(".partial-*"))
    again = appliance()
    assert again.wait_idle(1)[0]["state"] == "done"
