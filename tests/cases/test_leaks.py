"""No stranger's face left sharp in an exported clip: the appliance's own detector run over every frame
of the busy clip's export (the review's check): each face it finds in the original frame and each it
finds in the exported one must be blurred there, unless it is the subject's (``others``) — including
the faces no track holds (seen in one analysed frame, or only between analysed frames) and walkers
before their first and after their last detection."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from appliance.cases.redact import Redact

from .conftest import BUSY, Appliance
from .test_export import export, frames_of

pytestmark = pytest.mark.slow  # the detector on every frame of a clip and of two exports

BUSY_RESULT = Path(BUSY).stem
MIN_SIDE = 12
SHARP = 20.0  # Laplacian variance below which a face says little anyway (blurry in the source)
DROP = 4.0  # a blurred face loses at least this much of its Laplacian variance (measured 10-50x)


def laplacian(grey: np.ndarray, box: tuple[float, ...]) -> float:
    x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
    patch = grey[max(y1, 0) : y2, max(x1, 0) : x2]
    return float(cv2.Laplacian(patch, cv2.CV_64F).var()) if patch.size > 16 else 0.0


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def subject_near(boxes: list[tuple[int, float, float, float, float]], frame: int) -> tuple[float, ...] | None:
    """The subject's detection nearest ``frame`` (within 10 frames), grown by half a face on each side:
    where the subject may be (written here, not taken from the code under test)."""
    near = min(boxes, key=lambda b: abs(b[0] - frame))
    if abs(near[0] - frame) > 10:
        return None
    _, x, y, w, h = near
    return x - w / 2, y - h / 2, x + 1.5 * w, y + 1.5 * h


class Originals:
    """The busy clip's frames and the faces the detector finds in each, found once a module: both
    redactions check the same original frames (only their exported frames differ)."""

    def __init__(self, path: Path, detector) -> None:
        self.frames = frames_of(path)
        self.detector = detector
        self._faces: dict[int, list] = {}

    def faces(self, frame: int) -> list:
        if frame not in self._faces:
            self._faces[frame] = self.detector.detect(self.frames[frame])
        return self._faces[frame]


@pytest.fixture(scope="module")
def originals(appliance, tflite_detector) -> Originals:
    return Originals(appliance.done / BUSY, tflite_detector)


def leaks(appliance: Appliance, target: Path, redact: Redact, detector, originals: Originals) -> tuple[list[str], int]:
    person = appliance.person(BUSY_RESULT, 1)
    export(appliance, target, (person,), pad_s=2.0, redact=redact)
    record = json.loads(zipfile.ZipFile(target).read("case.json"))
    [appearance] = record["appearances"]
    clip_path = target.with_suffix(".mp4")
    clip_path.write_bytes(zipfile.ZipFile(target).read(appearance["clip"]))
    manifest = appliance.manifests[BUSY_RESULT]
    mine = [b for t in manifest.tracks if t.id in appearance["tracks"] for b in t.boxes]
    source = originals.frames
    first = int(round(appearance["clip_start_s"] * manifest.source.fps))
    found, checked = [], 0
    for k, exported in enumerate(frames_of(clip_path)):
        n = first + k
        grey_in = cv2.cvtColor(source[n], cv2.COLOR_BGR2GRAY)
        grey_out = cv2.cvtColor(exported, cv2.COLOR_BGR2GRAY)
        subject = subject_near(mine, n) if redact is Redact.OTHERS else None
        for where, faces in (("original", originals.faces(n)), ("export", detector.detect(exported))):
            for face in faces:
                box = face.xyxy
                if min(box[2] - box[0], box[3] - box[1]) < MIN_SIDE:
                    continue
                if subject is not None and overlap(box, subject) > 0 and _inside(box, subject):
                    continue
                checked += 1
                before, after = laplacian(grey_in, box), laplacian(grey_out, box)
                if before > SHARP and before < DROP * after:
                    found.append(
                        f"frame {n}: face at {[round(v) for v in box]} found in the {where} is sharp "
                        f"({before:.0f} -> {after:.0f})"
                    )
    found.extend(crop_leaks(appliance, target, appearance, redact, frames_of(clip_path), first))
    return found, checked


def crop_leaks(
    appliance: Appliance, target: Path, appearance: dict, redact: Redact, clip: list[np.ndarray], first: int
) -> list[str]:
    """The case's crop: with ``all`` no sharp face (the outbox crop is the subject's sharp face), with
    ``others`` cut from the redacted clip's frame (where the others are blurred), not the outbox."""
    manifest = appliance.manifests[BUSY_RESULT]
    best = max((t.best for t in manifest.tracks if t.id in appearance["tracks"]), key=lambda b: b.quality.score)
    crop = cv2.imdecode(np.frombuffer(zipfile.ZipFile(target).read(appearance["crop"]), np.uint8), cv2.IMREAD_COLOR)
    outbox = cv2.imread(str(appliance.outbox / BUSY_RESULT / best.file))
    grey_crop, grey_outbox = (cv2.cvtColor(i, cv2.COLOR_BGR2GRAY) for i in (crop, outbox))
    whole = (0, 0, crop.shape[1], crop.shape[0])
    if redact is Redact.ALL:
        before, after = laplacian(grey_outbox, whole), laplacian(grey_crop, whole)
        return [] if before >= DROP * after else [f"the crop is sharp with --redact all ({before:.0f} -> {after:.0f})"]
    x, y, w, h = best.box
    x1, y1 = int(max(np.floor(x - 0.2 * w), 0)), int(max(np.floor(y - 0.2 * h), 0))
    frame = clip[best.frame - first][y1 : y1 + crop.shape[0], x1 : x1 + crop.shape[1]]
    difference = float(np.abs(frame.astype(int) - crop.astype(int)).mean())
    return [] if difference < 4 else [f"the crop is not the redacted frame's (mean difference {difference:.1f})"]


def _inside(box: tuple[float, ...], area: tuple[float, ...]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return area[0] <= cx <= area[2] and area[1] <= cy <= area[3]


@pytest.mark.parametrize("redact", [Redact.OTHERS, Redact.ALL])
def test_no_face_but_the_subjects_is_sharp_in_any_frame(appliance, tmp_path, tflite_detector, originals, redact):
    found, checked = leaks(appliance, tmp_path / "case.zip", redact, tflite_detector, originals)
    assert checked >= 300, f"only {checked} faces checked"  # 5-7 faces a frame over 105 frames
    assert not found, "\n".join(found)
