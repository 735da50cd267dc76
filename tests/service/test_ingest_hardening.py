"""Taking files from the inbox under attack and on bad days (issue #23, findings 1, 6, 7 and 13).

Each test replays the review's reproduction on real files: the service's own watcher and ingest in
this process (scans driven by the test, ``settle_s`` 0), or a real ``appliance serve`` with a real
writer process. The full-disk test mounts a tmpfs: it needs root, as in CI.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from appliance.service.ingest import ROOM_RETRY_S
from appliance.service.jobs import JobState
from appliance.service.outcome import fail_recording
from appliance.service.service import Service
from appliance.settings import load
from tests.appliance_proc import ApplianceProcess
from tests.service.test_hardening import mounted

PHOTO = "voc_2008_001009.jpg"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _service(data: Path) -> Service:
    return Service(load(flags={"data": str(data), "settle_s": 0}, environ={}))


def _scan(service: Service) -> None:
    """One full scan, then two looks: the first records each file's size, the second hands it over."""
    service.watcher.scan()
    service.watcher.check()
    service.watcher.check()


# -- 1. a folder swapped for a symlink after its file was noticed -------------------------------------
def test_a_folder_swapped_for_a_symlink_is_not_followed(tmp_path, caplog):
    service = _service(tmp_path / "data")
    inbox, state = service.inbox, service.layout.root
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "private.jpg").write_bytes(b"not the appliance's")
    for folder, name in (("s2", "jobs.sqlite"), ("s3", "private.jpg")):
        (inbox / folder).mkdir()
        (inbox / folder / name).write_bytes(b"x")
    service.watcher.scan()
    service.watcher.check()  # noticed; then each folder is swapped for a symlink before the file settled
    for folder, to in (("s2", "../state"), ("s3", str(outside))):
        (inbox / folder).rename(inbox / f".old-{folder}")
        os.symlink(to, inbox / folder)
    with caplog.at_level(logging.INFO, logger="appliance.ingest"):
        for _ in range(3):
            service.watcher.check()
    assert service.store.recent() == []  # the job store is still there, and still the store
    assert (state / "jobs.sqlite").is_file() and (outside / "private.jpg").read_bytes() == b"not the appliance's"
    assert list(service.layout.processing.iterdir()) == list(service.layout.failed.iterdir()) == []
    assert "in a folder that is a symlink" in caplog.text


def test_start_up_removes_a_half_taken_file_only_through_the_inbox_folders(tmp_path, faces_dev):
    """A power cut between linking into processing/ and unlinking from the inbox, then a folder swapped."""
    service = _service(tmp_path / "data")
    footage = service.layout.processing / "x.jpg"
    shutil.copy(faces_dev / PHOTO, footage)
    os.symlink(service.layout.processing, service.inbox / "s2")  # the inbox name now leads to the footage itself
    source = service.inbox.resolve() / "s2" / "x.jpg"
    service.store.add("s2/x.jpg", str(footage), "a" * 64, 1, source=str(source), state=JobState.RECEIVED)
    service.recover()
    [job] = service.store.recent()
    assert job.state is JobState.QUEUED and footage.read_bytes() == (faces_dev / PHOTO).read_bytes()


# -- 6. a writer that pauses longer than settle_s -----------------------------------------------------
WRITER = """
import sys
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as out:
    out.write(data[: len(data) // 2])
    out.flush()
    print("half", flush=True)
    sys.stdin.readline()  # paused, the file open, until the test says go on
    out.write(data[len(data) // 2 :])
"""


def test_a_writer_that_pauses_longer_than_settle_s_loses_nothing(tmp_path, faces_dev):
    app = ApplianceProcess(tmp_path / "data").start()  # settle_s 1, a scan every 2 s
    try:
        whole = (faces_dev / PHOTO).read_bytes()
        inbox_file = app.data / "inbox" / "slow.jpg"
        cmd = [sys.executable, "-c", WRITER, str(faces_dev / PHOTO), str(inbox_file)]
        writer = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None and writer.stdout.readline() == "half\n"
        # the pause outlasts settle_s: until the service has had its look at the half-written file
        app.wait_for(lambda: "open for writing" in app.log() or not inbox_file.exists(), 60, "a look at the file")
        writer.communicate("go on\n", timeout=30)
        jobs = app.wait_idle(1, timeout=120)
        assert [(j["name"], j["state"], j["size"]) for j in jobs] == [("slow.jpg", "done", len(whole))]
        assert (app.data / "state" / "done" / "slow.jpg").read_bytes() == whole
        assert list((app.data / "state" / "failed").iterdir()) == []
    finally:
        app.close()


# -- 7. hard links on one file system; a copy that does not fit ---------------------------------------
def test_a_file_on_the_same_file_system_is_hard_linked_not_copied(tmp_path, faces_dev):
    service = _service(tmp_path / "data")
    original = service.inbox / "cam1" / "a.jpg"
    original.parent.mkdir()
    shutil.copy(faces_dev / PHOTO, original)
    inode = original.stat().st_ino
    _scan(service)
    [job] = service.store.recent()
    assert job.state is JobState.QUEUED and not original.exists()
    assert Path(job.path).stat().st_ino == inode  # the same file, not a copy of it


def test_a_file_too_big_to_copy_waits_in_the_inbox_said_once(tmp_path, caplog):
    data = tmp_path / "data"
    with mounted(
        "-t", "tmpfs", "-o", "size=2m", "tmpfs", target=data / "state"
    ) as state:  # the inbox is on another file system: it must be copied
        service = _service(data)
        service.ingest.clock = clock = Clock()
        big = service.inbox / "big.mp4"
        payload = os.urandom(3 << 20)
        big.write_bytes(payload)
        with caplog.at_level(logging.INFO, logger="appliance"):
            for _ in range(4):  # four scans: before, each one wrote what fitted and logged a traceback
                _scan(service)
                clock.now += 1
        assert service.store.recent() == [] and big.read_bytes() == payload
        assert list(service.layout.processing.iterdir()) == []  # nothing written, not even a partial copy
        said = [e["message"] for e in service.store.operator_log() if e["kind"] == "inbox"]
        assert len(said) == 1 and "big.mp4 waits in the inbox" in said[0] and "MB free" in said[0]
        assert [r.exc_info for r in caplog.records if r.levelno >= logging.WARNING] == [None]
        subprocess.run(["mount", "-o", "remount,size=64m", str(state)], check=True)
        clock.now += ROOM_RETRY_S
        _scan(service)
        [job] = service.store.recent()
        assert job.state is JobState.QUEUED and Path(job.path).read_bytes() == payload and not big.exists()


# -- 13. a copy of a file whose job then fails --------------------------------------------------------
def test_a_copy_of_a_queued_file_is_processed_when_the_original_fails(tmp_path, faces_dev):
    service = _service(tmp_path / "data")
    shutil.copy(faces_dev / PHOTO, service.inbox / "first.jpg")
    _scan(service)
    shutil.copy(faces_dev / PHOTO, service.inbox / "second.jpg")
    _scan(service)
    [first] = service.store.recent()  # the copy waits in the inbox while its original is queued
    assert (service.inbox / "second.jpg").exists()
    assert any("second.jpg has the same content as job" in e["message"] for e in service.store.operator_log())
    fail_recording(service.store, service.layout, first, Path(first.path), "given up after 3 attempts")
    _scan(service)
    jobs = {job.name: job for job in service.store.recent()}
    assert jobs["first.jpg"].state is JobState.FAILED
    assert jobs["second.jpg"].state is JobState.QUEUED and jobs["second.jpg"].duplicate_of is None
    assert Path(jobs["second.jpg"].path).read_bytes() == (faces_dev / PHOTO).read_bytes()


def test_a_copy_of_a_done_file_is_still_a_duplicate(tmp_path, faces_dev):
    service = _service(tmp_path / "data")
    shutil.copy(faces_dev / PHOTO, service.inbox / "first.jpg")
    _scan(service)
    [first] = service.store.recent()
    service.store.finish(first.id, first.path, str(tmp_path / "result"), 1)
    shutil.copy(faces_dev / PHOTO, service.inbox / "second.jpg")
    _scan(service)
    second = next(job for job in service.store.recent() if job.name == "second.jpg")
    assert second.state is JobState.DUPLICATE and second.duplicate_of == first.id
    assert not (service.inbox / "second.jpg").exists()
