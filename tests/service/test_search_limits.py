"""Images too large to decode and more searches than the box takes, through a running service
(issue 23, findings 4 and 5): refused with a reason, before any memory is spent, and the page answers."""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.appliance_proc import ApplianceProcess
from tests.images import huge_png

pytestmark = pytest.mark.slow  # a real service with its worker and its search process
PEAK_LIMIT_MB = 1024  # a worker or the search process at rest peaks near 150 MB; decoding 30000x30000 takes 2.7 GB


def peak_mb(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no VmHWM for {pid}")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = ApplianceProcess(tmp_path_factory.mktemp("limits") / "data").start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def searcher_pid(app) -> int:
    """The search process, started by a first search (a small photo with no face in it)."""
    before = set(app.worker_pids())
    status, answer = post_photo(app, small_photo())
    assert status == 422 and "no face" in answer["error"], answer
    (pid,) = set(app.worker_pids()) - before
    return pid


def post_photo(app: ApplianceProcess, data: bytes, name: str = "photo.jpg") -> tuple[int, dict]:
    """POST /api/search with ``data`` as the photo: the status and the JSON answer (with its Retry-After)."""
    boundary = "----appliance-test"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="{name}"\r\n\r\n'
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        app.url + "/api/search", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, {**json.loads(err.read()), "retry_after": err.headers.get("Retry-After")}


def small_photo() -> bytes:
    return cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()


def test_a_huge_png_in_the_inbox_fails_with_its_size_before_it_is_decoded(app):
    (app.data / "inbox" / "huge.png").write_bytes(huge_png(30000, 30000))  # 0.9 MB on disk
    (job,) = app.wait_idle(1)
    assert job["state"] == "failed" and "30000x30000" in job["error"] and "max_frame_pixels" in job["error"], job
    failed = app.data / "state" / "failed"
    assert (failed / "huge.png").stat().st_size < 1 << 20
    assert "30000x30000" in (failed / "huge.png.error.txt").read_text()
    (worker,) = app.worker_pids()
    assert peak_mb(worker) < PEAK_LIMIT_MB


def test_a_huge_png_to_search_with_is_refused_before_it_is_decoded(app, searcher_pid):
    status, answer = post_photo(app, huge_png(30000, 30000), "huge.png")
    assert status == 422 and "30000x30000" in answer["error"], answer
    status, answer = post_photo(app, b"P6\n30000 30000\n255\n" + bytes(64), "huge.ppm")
    assert status == 422 and "not a readable image" in answer["error"], answer
    assert searcher_pid in app.worker_pids() and peak_mb(searcher_pid) < PEAK_LIMIT_MB


def test_searches_beyond_the_queue_get_503_and_the_health_check_still_answers(app, searcher_pid):
    """The search process is paused (SIGSTOP): every search waits, as behind a slow one."""
    answers: list[tuple[int, dict]] = []
    done = threading.Condition()

    def upload() -> None:
        found = post_photo(app, small_photo())
        with done:
            answers.append(found)
            done.notify()

    os.kill(searcher_pid, signal.SIGSTOP)
    try:
        uploads = [threading.Thread(target=upload) for _ in range(8)]
        for thread in uploads:
            thread.start()
        with done:
            assert done.wait_for(lambda: len(answers) >= 6, timeout=60), answers
        with urllib.request.urlopen(app.url + "/healthz", timeout=30) as health:
            assert health.status == 200
        assert len(answers) == 6 and all(status == 503 for status, _ in answers), answers
        assert all("try again" in answer["error"] and int(answer["retry_after"]) > 0 for _, answer in answers)
    finally:
        os.kill(searcher_pid, signal.SIGCONT)
    for thread in uploads:
        thread.join(timeout=60)
    assert sorted(status for status, _ in answers) == [422, 422, 503, 503, 503, 503, 503, 503]
