"""``appliance export`` on real footage: the clips decoded frame by frame against the original, the
record's hashes checked, and the errors an operator meets."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from appliance.cases.appearances import CaseError, parse_time
from appliance.cases.export import CaseRequest, export_case
from appliance.cases.package import Exists
from appliance.cases.redact import Redact
from appliance.output.manifest import Manifest

from .conftest import BUSY, HAMILTON_AS_RECORDED, Appliance

pytestmark = pytest.mark.slow  # whole clips through the pipeline, clips encoded

BUSY_RESULT = Path(BUSY).stem
HAMILTON_RESULT = Path(HAMILTON_AS_RECORDED).stem
MIN_SIDE = 12  # boxes smaller than this (at the frame's edge) say nothing about sharpness
# What is left of a blurred face once H.264 has encoded it (measured 3-9 on these clips): a face that
# was soft to begin with (moving, far) cannot drop tenfold below it. A face left sharp measures 40-200.
NOISE_FLOOR = 10.0


def sharpness(grey: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Variance of the Laplacian (over ``mask`` when given)."""
    lap = cv2.Laplacian(grey, cv2.CV_64F)
    return float(lap[mask].var() if mask is not None else lap.var())


def box_at(boxes: list[tuple[int, float, float, float, float]], frame: int) -> tuple[int, int, int, int] | None:
    """The track's box at ``frame``, linearly between its detections (None outside them): written
    here again, not taken from the code under test."""
    frames = [b[0] for b in boxes]
    if not boxes or frame < frames[0] or frame > frames[-1]:
        return None
    after = next(i for i, f in enumerate(frames) if f >= frame)
    a = boxes[max(after - 1, 0)] if frames[after] != frame else boxes[after]
    b = boxes[after]
    w = 0.0 if b[0] == a[0] else (frame - a[0]) / (b[0] - a[0])
    x, y, bw, bh = (p + (q - p) * w for p, q in zip(a[1:], b[1:], strict=True))
    return int(round(x)), int(round(y)), int(round(x + bw)), int(round(y + bh))


def frames_of(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    found = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        found.append(image)
    capture.release()
    return found


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def export(appliance: Appliance, target: Path, people: tuple[int, ...], **request: object) -> object:
    return export_case(
        CaseRequest(people, **request),  # type: ignore[arg-type]
        appliance.index,
        appliance.outbox,
        [appliance.done],
        target,
    )


def subject_of_busy(appliance: Appliance) -> tuple[int, set[int]]:
    """A person of the busy clip seen briefly (a short clip), and their track numbers."""
    manifest = appliance.manifests[BUSY_RESULT]
    spans = {p.id: p.last_s - p.first_s for p in manifest.people if p.last_s - p.first_s >= 0.8}
    local = min(spans, key=lambda number: spans[number])
    tracks = {t.id for t in manifest.tracks if t.person == local}
    return appliance.person(BUSY_RESULT, local), tracks


def test_subject_sharp_everyone_else_blurred_in_every_frame(appliance, tmp_path):
    person, subject_tracks = subject_of_busy(appliance)
    before = tree_digest(appliance.outbox.parent)
    target = tmp_path / "case.zip"
    result = export(appliance, target, (person,), pad_s=0.5)
    assert tree_digest(appliance.outbox.parent) == before, "the export changed the outbox or the footage"
    folder = tmp_path / "case"
    zipfile.ZipFile(target).extractall(folder)
    record = json.loads((folder / "case.json").read_text())
    assert result.clips == len(record["appearances"]) >= 1
    manifest: Manifest = appliance.manifests[BUSY_RESULT]
    source = frames_of(appliance.done / BUSY)
    fps = manifest.source.fps
    others = [t for t in manifest.tracks if t.id not in subject_tracks]
    checked_others: set[int] = set()
    between = subject_frames = 0
    ratios: list[float] = []
    for appearance in record["appearances"]:
        clip = frames_of(folder / appearance["clip"])
        first = int(round(appearance["clip_start_s"] * fps))
        assert len(clip) == appearance["clip_frames"] > 0
        for k, exported in enumerate(clip):
            n = first + k
            original = source[n]
            grey_out = cv2.cvtColor(exported, cv2.COLOR_BGR2GRAY)
            grey_in = cv2.cvtColor(original[: grey_out.shape[0], : grey_out.shape[1]], cv2.COLOR_BGR2GRAY)
            other_boxes = []
            for track in others:
                box = box_at(track.boxes, n)
                if box is None:
                    continue
                other_boxes.append(box)
                x1, y1, x2, y2 = max(box[0], 0), max(box[1], 0), box[2], box[3]
                if min(x2 - x1, y2 - y1) < MIN_SIDE:
                    continue
                sharp_in = sharpness(grey_in[y1:y2, x1:x2])
                sharp_out = sharpness(grey_out[y1:y2, x1:x2])
                assert sharp_out <= max(sharp_in / 10, NOISE_FLOOR), (
                    f"track {track.id} not blurred in frame {n}: {sharp_in:.0f} -> {sharp_out:.0f}"
                )
                ratios.append(sharp_in / max(sharp_out, 1e-6))
                checked_others.add(track.id)
                between += all(b[0] != n for b in track.boxes)
            for track in manifest.tracks:
                box = box_at(track.boxes, n) if track.id in subject_tracks else None
                if box is None:
                    continue
                x1, y1, x2, y2 = max(box[0], 0), max(box[1], 0), box[2], box[3]
                mask = np.ones((y2 - y1, x2 - x1), dtype=bool)
                for ox1, oy1, ox2, oy2 in other_boxes:  # another face over the subject's is blurred: privacy first
                    mask[max(oy1 - y1, 0) : max(oy2 - y1, 0), max(ox1 - x1, 0) : max(ox2 - x1, 0)] = False
                if mask.sum() < MIN_SIDE * MIN_SIDE:
                    continue
                sharp_in = sharpness(grey_in[y1:y2, x1:x2], mask)
                sharp_out = sharpness(grey_out[y1:y2, x1:x2], mask)
                difference = np.abs(grey_out[y1:y2, x1:x2].astype(int) - grey_in[y1:y2, x1:x2])[mask].mean()
                assert sharp_out >= 0.5 * sharp_in and difference < 6, (
                    f"the subject changed in frame {n}: sharpness {sharp_in:.0f} -> {sharp_out:.0f}, "
                    f"mean difference {difference:.1f}"
                )
                subject_frames += 1
    alive = {t.id for t in others for a in record["appearances"] if _overlaps(t, a, fps)}
    assert checked_others == alive and len(alive) >= 5, f"others checked {sorted(checked_others)} of {sorted(alive)}"
    assert between > 0 and subject_frames > 0
    assert np.median(ratios) >= 10, f"median sharpness drop {np.median(ratios):.1f}x"


def _overlaps(track, appearance: dict, fps: float) -> bool:
    frames = [b[0] for b in track.boxes]
    start, end = appearance["clip_start_s"] * fps, appearance["clip_end_s"] * fps
    return (
        bool(frames)
        and frames[0] <= end
        and frames[-1] >= start
        and any(min(b[3], b[4]) >= MIN_SIDE for b in track.boxes)
    )


def test_the_record_proves_what_was_exported(appliance, tmp_path):
    manifest = appliance.manifests[HAMILTON_RESULT]
    track = max(manifest.tracks, key=lambda t: max(b[4] for b in t.boxes))  # the largest face
    person = appliance.person(HAMILTON_RESULT, track.person)
    target = tmp_path / "case.zip"
    export(appliance, target, (person,), pad_s=0.5, redact=Redact.ALL)
    folder = tmp_path / "case"
    with zipfile.ZipFile(target) as archive:
        archive.extractall(folder)
        names = set(archive.namelist())
    record = json.loads((folder / "case.json").read_text())
    assert record["case"]["request"]["redact"] == "all" and record["case"]["appliance_version"]
    # sha256sum -c: every line of SHA256SUMS holds, and it names every file but itself
    listed = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = re.fullmatch(r"([0-9a-f]{64})  (.+)", line).groups()  # type: ignore[union-attr]
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
        listed[name] = digest
    assert set(listed) == names - {"SHA256SUMS"}
    assert {n: d for n, d in listed.items() if n != "case.json"} == record["files"]
    [source] = record["sources"]
    assert (
        source["verified"]
        and source["sha256"] == hashlib.sha256((appliance.done / HAMILTON_AS_RECORDED).read_bytes()).hexdigest()
    )
    # the recording's time of day, from its file name, and where it came from
    appearance = next(a for a in record["appearances"] if track.id in a["tracks"])
    assert appearance["time_source"] == "file name" and appearance["started"].startswith("2026-11-27 14:30:0")
    assert manifest.source.recorded_at_source == "file name"  # the manifest says which, too
    assert appliance.manifests[BUSY_RESULT].source.recorded_at_source is None
    # the page opens offline: nothing fetched, every file it shows is in the zip
    page = (folder / "index.html").read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page
    shown = set(re.findall(r'src="([^"]+)"', page))
    assert shown and shown <= names and any(s.endswith(".mp4") for s in shown)
    # with all, the subject is blurred too
    frame, x, y, w, h = max(track.boxes, key=lambda b: b[4])
    clip = frames_of(folder / appearance["clip"])
    k = frame - int(round(appearance["clip_start_s"] * manifest.source.fps))
    original = frames_of(appliance.done / HAMILTON_AS_RECORDED)[frame]
    x1, y1, x2, y2 = int(x), int(y), int(x + w), int(y + h)
    before = sharpness(cv2.cvtColor(original[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY))
    after = sharpness(cv2.cvtColor(clip[k][y1:y2, x1:x2], cv2.COLOR_BGR2GRAY))
    assert after <= max(before / 10, NOISE_FLOOR)


def test_errors_an_operator_meets(appliance, tmp_path):
    before = tree_digest(appliance.outbox.parent)
    target = tmp_path / "case.zip"
    with pytest.raises(CaseError, match="no person #999"):
        export(appliance, target, (999,))
    person = appliance.person(HAMILTON_RESULT, 1)
    with pytest.raises(CaseError, match="none between 2026-11-28"):
        export(appliance, target, (person,), since=parse_time("2026-11-28"), until=parse_time("2026-11-29"))
    with pytest.raises(CaseError, match="window is empty"):
        export(appliance, target, (person,), since=parse_time("2026-11-28"), until=parse_time("2026-11-27"))
    with pytest.raises(CaseError, match="not a date"):
        parse_time("yesterday")
    busy = appliance.person(BUSY_RESULT, 1)
    with pytest.raises(CaseError, match="no recording gives its time"):  # no time of day: cannot be placed in a window
        export(appliance, target, (busy,), since=parse_time("2026-11-27"))
    assert not target.exists() and not list(tmp_path.iterdir()), "a failed export left something behind"
    target.write_bytes(b"an earlier case")
    with pytest.raises(Exists):
        export(appliance, target, (person,))
    assert target.read_bytes() == b"an earlier case"
    assert tree_digest(appliance.outbox.parent) == before


def test_a_recording_that_is_gone_is_said_and_the_rest_exported(appliance, tmp_path):
    busy = appliance.person(BUSY_RESULT, 1)
    hamilton = appliance.person(HAMILTON_RESULT, 1)
    elsewhere = tmp_path / "footage"
    elsewhere.mkdir()
    (elsewhere / HAMILTON_AS_RECORDED).symlink_to(appliance.done / HAMILTON_AS_RECORDED)  # a symlink is not taken
    (elsewhere / "renamed.mp4").write_bytes((appliance.done / HAMILTON_AS_RECORDED).read_bytes())
    target = tmp_path / "case.zip"
    result = export_case(
        CaseRequest((busy, hamilton), pad_s=0.2), appliance.index, appliance.outbox, [elsewhere], target
    )
    record = json.loads(zipfile.ZipFile(target).read("case.json"))
    gone = [a for a in record["appearances"] if a["recording"] == BUSY_RESULT]
    kept = [a for a in record["appearances"] if a["recording"] == HAMILTON_RESULT]
    assert gone and kept and result.clips == len(kept)  # type: ignore[attr-defined]
    assert all(a["clip"] is None and "is gone" in a["missing"] and a["crop"] for a in gone)
    assert all(a["clip"] for a in kept)
    assert any("facenet_pytorch_video.mp4" in note and "retention" in note for note in record["notes"])
    assert {s["recording"]: s["verified"] for s in record["sources"]} == {BUSY_RESULT: False, HAMILTON_RESULT: True}


def test_the_command(appliance, tmp_path, capsys):
    from appliance.cli import main

    data = ["--data", str(appliance.outbox.parent), "-q"]
    assert main(["export", "999", "-o", str(tmp_path / "x.zip"), *data]) == 1
    assert "no person #999" in capsys.readouterr().err
    person = appliance.person(HAMILTON_RESULT, 1)
    window = ["--from", "2026-11-27T14:00", "--to", "2026-11-27T15:00", "--pad-s", "0"]
    assert main(["export", str(person), "-o", str(tmp_path / "x.zip"), *window, "--redact", "none", *data]) == 0
    assert re.search(r"x\.zip: (\d+) appearance\(s\), \1 clip\(s\)", capsys.readouterr().out)
    record = json.loads(zipfile.ZipFile(tmp_path / "x.zip").read("case.json"))
    assert record["case"]["request"] == {
        "people": [person],
        "from": "2026-11-27T14:00:00",
        "to": "2026-11-27T15:00:00",
        "pad_s": 0.0,
        "redact": "none",
    }


class _Frame:
    """A decoded frame as the export hands it to the search."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image

    def bgr(self) -> np.ndarray:
        return self.image


def test_a_face_found_at_export_is_left_sharp_only_if_it_is_the_subject(appliance, tflite_detector):
    from appliance.cases.export import _appliance_detector
    from appliance.output.embeddings import read_embeddings

    manifest = appliance.manifests[BUSY_RESULT]
    track = max(manifest.tracks, key=lambda t: t.detections)  # someone seen all along
    frame, x, y, w, h = track.boxes[len(track.boxes) // 2]
    subject = read_embeddings(appliance.outbox / BUSY_RESULT)[track.id]
    search = _appliance_detector(manifest, subject, appliance.index.threshold)
    image = _Frame(frames_of(appliance.done / BUSY)[frame])
    found = search(image, True)  # recognised at STRICT_SIMILARITY (0.6), not the grouping threshold
    sharp = [f for f in found if f.subject]
    assert not any(f.subject for f in search(image, False))  # where a track can say, SFace is not asked
    assert len(found) >= 5 and len(sharp) == 1
    x1, y1, x2, y2 = sharp[0].box
    assert abs((x1 + x2) / 2 - (x + w / 2)) < w / 2 and abs((y1 + y2) / 2 - (y + h / 2)) < h / 2
    nobody = _appliance_detector(manifest, None, appliance.index.threshold)(image, True)
    assert len(nobody) == len(found) and not any(f.subject for f in nobody)


def test_a_persons_page_shows_the_time_of_day_and_where_it_came_from(appliance):
    from appliance.service.queue.sqlite import SqliteJobStore
    from appliance.web import create_app
    from tests.web.conftest import settings_for

    data = appliance.outbox.parent
    app = create_app(settings_for(data), SqliteJobStore(data / "state" / "jobs.sqlite"))
    person = appliance.person(HAMILTON_RESULT, 1)
    page = app.test_client().get(f"/people/{person}").get_data(as_text=True)
    assert re.search(r"2026-11-27 14:3\d:\d\d <span class=\"muted\">\(file name\)</span>", page)
    busy = app.test_client().get(f"/people/{appliance.person(BUSY_RESULT, 1)}").get_data(as_text=True)
    assert "(file name)" not in busy and "camera clock" not in busy  # the busy clip gives no time
