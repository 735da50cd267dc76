"""The status page in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import pytest

from tests.appliance_proc import ApplianceProcess

pytestmark = pytest.mark.slow  # whole clips, real processes or model conversion

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (make test installs it: scripts/system-deps.sh)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        yield page
        browser.close()


def test_page_shows_a_job_going_to_done_and_its_faces(browser_page, videos, tmp_path):
    app = ApplianceProcess(tmp_path / "data").start()
    try:
        page = browser_page
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(app.url + "/")
        page.wait_for_selector("body[data-updated]")
        assert page.text_content('[data-state="done"]') == "0"
        shutil.copy(videos / "facenet_pytorch_video.mp4", app.data / "inbox" / "arcade.mp4")
        page.wait_for_selector("#current progress", timeout=60_000)  # the live view while it runs
        page.wait_for_selector("#current img", timeout=30_000)
        # what the activity scan decided for this file (4 s, one keyframe: too short to judge)
        page.wait_for_selector("#current .scan:has-text('decoding every frame')", timeout=30_000)
        page.wait_for_selector("#jobs tbody tr .badge.done", timeout=180_000)
        assert page.text_content('[data-state="done"]') == "1"
        page.wait_for_selector("#gallery img")
        # polled from here: wait_for_function evaluates its predicate with eval in the page, which the
        # page's Content-Security-Policy (no 'unsafe-eval') refuses whenever the first look is not enough
        loaded = "[...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)"
        for _ in range(300):
            if page.evaluate(loaded):
                break
            page.wait_for_timeout(100)
        assert page.evaluate(loaded), "the gallery's images did not load"
        widths = page.eval_on_selector_all("#gallery img", "els => els.map(e => e.naturalWidth)")
        assert len(widths) >= 7 and min(widths) > 0
        page.screenshot(path=str(tmp_path / "status.png"), full_page=True)
        page.click("#jobs tbody tr a")
        page.wait_for_selector(".gallery.large img")
        assert "manifest.json" in page.content()
        # people: a card each, and search by photo (a frame of the clip: its largest face is searched)
        page.goto(app.url + "/people")
        assert page.locator("#people figure").count() >= 7
        frame = tmp_path / "frame.jpg"
        capture = cv2.VideoCapture(str(videos / "facenet_pytorch_video.mp4"))
        capture.set(cv2.CAP_PROP_POS_FRAMES, 50)
        cv2.imwrite(str(frame), capture.read()[1])
        page.set_input_files("input[name=photo]", str(frame))
        page.click("#search button")
        page.wait_for_selector("#matches figure.same img", timeout=60_000)
        assert "the largest was searched" in page.content()
        assert errors == []
    finally:
        app.close()
