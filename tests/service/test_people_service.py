"""People through the running service: the same person in two recordings is one person, and search by
photo finds them, through the search process (the page itself runs no net)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from tests.appliance_proc import ApplianceProcess

pytestmark = pytest.mark.slow  # real service processes


def post_photo(app: ApplianceProcess, data: bytes, name: str = "photo.jpg") -> tuple[int, dict]:
    boundary = "----appliance-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        app.url + "/api/search",
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw.startswith(b"{") else {"raw": raw[:200]}


def test_one_person_in_two_recordings_and_search_by_photo(tmp_path, videos):
    again = tmp_path / "carphone-again.mp4"  # the same man, other bytes: a second recording
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(videos / "carphone_pristine.mp4"),
            "-c:v",
            "libx264",
            "-crf",
            "30",
            str(again),
        ],
        check=True,
    )
    app = ApplianceProcess(tmp_path / "data").start()
    try:
        shutil.copy(videos / "carphone_pristine.mp4", app.data / "inbox" / "car-monday.mp4")
        shutil.copy(again, app.data / "inbox" / "car-tuesday.mp4")
        assert [j["state"] for j in app.wait_idle(2)] == ["done", "done"]
        people = app.get("/api/people")["people"]
        assert len(people) == 1 and people[0]["faces"] == 2 and people[0]["recordings"] == 2, people
        capture = cv2.VideoCapture(str(videos / "carphone_pristine.mp4"))
        capture.set(cv2.CAP_PROP_POS_FRAMES, 90)
        ok, frame = capture.read()
        assert ok
        frame = cv2.resize(frame, None, fx=3, fy=3)  # a photo of him, larger than the camera saw him
        status, found = post_photo(app, cv2.imencode(".jpg", frame)[1].tobytes())
        assert status == 200, found
        top = found["matches"][0]
        assert top["person"] == people[0]["id"] and top["same_person"] and top["similarity"] > 0.5
        assert not list((app.data / "state").rglob("photo*"))  # the uploaded photo is not kept
        noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
        status, found = post_photo(app, cv2.imencode(".png", noise)[1].tobytes(), "noise.png")
        assert status == 422 and found["error"] == "no face found in the photo"
        status, found = post_photo(app, b"%PDF-1.4 not an image", "x.pdf")
        assert status == 422 and "not a readable image" in found["error"]
        status, _ = post_photo(app, io.BytesIO(b"0" * (10 << 20)).getvalue())
        assert status == 413
        assert app.get("/healthz")["status"] == "ok"
    finally:
        app.close()
