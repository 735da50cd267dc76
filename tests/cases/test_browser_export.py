"""A person's case exported from their page in a real browser (Debian's Chromium), from a real
``appliance serve`` that analysed the busy clip, and the zip it hands out opened."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile

import cv2
import pytest

from tests.appliance_proc import ApplianceProcess
from tests.web.test_browser import browser_page  # noqa: F401 - the suite's Chromium fixture

pytestmark = pytest.mark.slow  # a real service, a whole clip, a real browser


def wait_for_people(app: ApplianceProcess, count: int) -> list[dict]:
    def enough() -> list[dict] | None:
        people = app.get("/api/people")["people"]
        return people if len(people) >= count else None

    return app.wait_for(enough, timeout=240, what=f"{count} people")


def test_export_a_person_from_their_page(browser_page, videos, tmp_path):  # noqa: F811
    app = ApplianceProcess(tmp_path / "data").start()
    try:
        shutil.copy(videos / "facenet_pytorch_video.mp4", app.data / "inbox" / "arcade.mp4")
        people = wait_for_people(app, 7)
        person = max(people, key=lambda p: p["faces"])
        page = browser_page
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(app.url + person["url"])
        page.select_option("#export select[name=redact]", "others")
        # no padding: only the frames they are seen in are searched and blurred (with the form's 2 s
        # each side their clip is the whole recording, 105 frames at 1080p, for nothing more proven)
        page.fill("#export input[name=pad_s]", "0")
        page.click("#export button")
        page.wait_for_selector("#export-progress:not([hidden])", timeout=10_000)
        page.wait_for_selector("#export-download:not([hidden])", timeout=120_000)
        page.screenshot(path=str(tmp_path / "person.png"), full_page=True)
        with page.expect_download() as download:
            page.click("#export-download")
        saved = tmp_path / "case.zip"
        download.value.save_as(saved)
        folder = tmp_path / "case"
        with zipfile.ZipFile(saved) as archive:
            archive.extractall(folder)
        record = json.loads((folder / "case.json").read_text())
        assert [p["id"] for p in record["people"]] == [person["id"]]
        assert record["case"]["request"]["redact"] == "others" and record["appearances"]
        assert record["case"]["request"]["pad_s"] == 0
        for line in (folder / "SHA256SUMS").read_text().splitlines():
            digest, name = line.split("  ", 1)
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
        clip = cv2.VideoCapture(str(folder / record["appearances"][0]["clip"]))
        assert clip.read()[0] and clip.get(cv2.CAP_PROP_FRAME_COUNT) > 10
        assert record["sources"][0]["verified"]
        assert "Download the case" in page.content()
        # merge by picking on the grid: two people become one
        page.goto(app.url + "/people")
        before = page.locator("#people figure").count()
        boxes = page.locator("#people figure input[name=person]")
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.click("#merge-picked button[type=submit]")
        page.wait_for_load_state()
        page.goto(app.url + "/people")
        assert page.locator("#people figure").count() == before - 1
        page.screenshot(path=str(tmp_path / "people.png"), full_page=True)
        assert errors == []
    finally:
        app.close()
