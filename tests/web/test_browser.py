"""The status page in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import contextlib
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from waitress import create_server

from appliance.people.index import NewTrack, PeopleIndex
from appliance.web import create_app
from tests.appliance_proc import ApplianceProcess
from tests.web.conftest import settings_for

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


# each caption's text as drawn (a Range covers text that overflows its element, which the element's own box
# does not), with the box of the figure it belongs to
CAPTION_BOXES = """els => els.map(caption => {
    const range = document.createRange();
    range.selectNodeContents(caption);
    const text = range.getBoundingClientRect(), figure = caption.closest('figure').getBoundingClientRect();
    return {left: text.left, right: text.right, top: figure.top, figureLeft: figure.left, figureRight: figure.right};
})"""


def overlapping_captions(page, gallery: str) -> list[str]:
    """Neighbouring captions of ``gallery`` (figures on one row) whose text runs into each other, and
    captions whose text runs out of their own figure."""
    boxes = page.eval_on_selector_all(f"{gallery} figure figcaption", CAPTION_BOXES)
    assert boxes, f"no captions in {gallery}"
    wrong = [f"caption {n + 1} leaves its figure: {b}" for n, b in enumerate(boxes)
             if b["left"] < b["figureLeft"] - 0.5 or b["right"] > b["figureRight"] + 0.5]  # fmt: skip
    for n, (left, right) in enumerate(zip(boxes, boxes[1:], strict=False)):
        if abs(left["top"] - right["top"]) < 1 and left["right"] > right["left"]:
            wrong.append(f"captions {n + 1} and {n + 2} overlap: {left} {right}")
    return wrong


LONG_NAMES = [
    "Maximilian-Featherstonehaugh-Wolfeschlegelsteinhausen",  # one word, longer than a tile
    "0123456789012345678901234567890123456789",
    "Anna Maria Louisa Wilhelmina Charlotte von Oranien-Nassau",
    "Bob",
]


@pytest.fixture
def served_people(populated, faces_dev, annotations):
    """The page over a people index of real face crops (from the dev photos), each a person with a long
    name, seen in recordings with long file names, served by waitress on an ephemeral port."""
    result = settings_for(populated.data).service.outbox_dir / "walk"
    index = PeopleIndex(populated.data / "state" / "people.sqlite", threshold=0.38)
    boxes = [(name, box) for name, found in sorted(annotations.items()) for box in found][:8]
    rng = np.random.default_rng(3)
    for n, (photo, (x, y, w, h)) in enumerate(boxes, start=1):
        image = cv2.imread(str(faces_dev / photo))
        assert cv2.imwrite(str(result / "tracks" / f"track-{n:04d}.jpg"), image[y : y + h, x : x + w])
        vector = rng.normal(size=128)
        track = NewTrack(n, n, 0.0, 1.0, 0.5, f"walk/tracks/track-{n:04d}.jpg", 0.8, vector / np.linalg.norm(vector))
        for copy in range(1 + n % 3):  # the same track in several recordings: counts in the captions
            index.add_recording(f"walk-{n}-{copy}", f"north-entrance-camera-main-stream-{n}-{copy}.mp4", [track])
    for person, name in zip((p["id"] for p in index.people()), LONG_NAMES, strict=False):
        index.rename(person, name)
    server = create_server(create_app(settings_for(populated.data), populated.store), host="127.0.0.1", port=0)

    def serve() -> None:
        with contextlib.suppress(OSError):  # its sockets closed under it by close()
            server.run()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


def test_the_people_galleries_captions_stay_apart(browser_page, served_people, tmp_path):
    """Long names and counts wrap inside their own tile, never over the next one."""
    page = browser_page
    for width in (1200, 420):  # a desktop and a phone
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(served_people + "/people")
        assert page.locator("#people figure").count() == 8
        assert overlapping_captions(page, "#people") == []
        page.screenshot(path=str(tmp_path / f"people-{width}.png"), full_page=True)


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
        assert overlapping_captions(page, "#gallery") == []
        page.screenshot(path=str(tmp_path / "status.png"), full_page=True)
        page.click("#jobs tbody tr a")
        page.wait_for_selector(".gallery.large img")
        assert "manifest.json" in page.content()
        assert overlapping_captions(page, "#job-people") == []
        # people: a card each, and search by photo (a frame of the clip: its largest face is searched)
        page.goto(app.url + "/people")
        assert page.locator("#people figure").count() >= 7
        assert overlapping_captions(page, "#people") == []
        frame = tmp_path / "frame.jpg"
        capture = cv2.VideoCapture(str(videos / "facenet_pytorch_video.mp4"))
        capture.set(cv2.CAP_PROP_POS_FRAMES, 50)
        cv2.imwrite(str(frame), capture.read()[1])
        page.set_input_files("input[name=photo]", str(frame))
        page.click("#search button")
        page.wait_for_selector("#matches figure.same img", timeout=60_000)
        assert overlapping_captions(page, "#matches") == []
        assert "the largest was searched" in page.content()
        assert errors == []
    finally:
        app.close()
