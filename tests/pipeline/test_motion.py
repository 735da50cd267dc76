"""Motion gating on synthetic clips made from real footage: a real face moved over a real still scene."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import cv2
import numpy as np
import pytest

from appliance.pipeline.extract import Extractor
from appliance.pipeline.motion import MotionGate, bucket_region, merge_boxes
from appliance.settings import ExtractSettings, ScanSettings
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # whole clips, real processes or model conversion

FPS = 25


@pytest.fixture(scope="module")
def scene(videos):
    """The arcade with the people removed (median of frames), at 960x540."""
    cap = cv2.VideoCapture(str(videos / "facenet_pytorch_video.mp4"))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, (960, 540), interpolation=cv2.INTER_AREA))
    return np.median(np.stack(frames[::3]), axis=0).astype(np.uint8)


@pytest.fixture(scope="module")
def face_sprite(faces_dev):
    image = cv2.imread(str(faces_dev / "voc_2008_001009.jpg"))
    x, y, w, h = 145, 79, 76, 76  # an annotated frontal face
    return image[y - 25 : y + h + 25, x - 25 : x + w + 25].copy()


def write_clip(path, scene, sprite, positions):
    """One frame per position (None: no face), with seeded sensor noise."""
    rng = np.random.default_rng(7)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (scene.shape[1], scene.shape[0]))
    for pos in positions:
        frame = scene.copy()
        if pos is not None:
            x, y = pos
            frame[y : y + sprite.shape[0], x : x + sprite.shape[1]] = sprite
        noisy = frame.astype(np.int16) + rng.normal(0, 2.0, frame.shape).astype(np.int16)
        writer.write(np.clip(noisy, 0, 255).astype(np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def extractor(tflite_detector):
    """Every frame decoded (the activity scan off): these tests are about motion gating alone."""
    return Extractor(ExtractSettings(backend="tflite"), detector=tflite_detector, scan=ScanSettings(enabled=False))


def test_a_still_scene_runs_no_detection_after_the_first_frame(extractor, scene, face_sprite, tmp_path):
    clip = write_clip(tmp_path / "still.mp4", scene, face_sprite, [None] * (6 * FPS))
    stats = extractor.run(clip, tmp_path / "out").manifest.stats
    assert stats.frames_analysed == 30
    assert stats.frames_full_detection == 1  # the first frame; the next refresh is due at 30 s (motion_refresh_s)
    assert stats.frames_region_detection == 0 and stats.frames_skipped_still == 29


def test_a_moving_face_is_found_in_its_region(extractor, scene, face_sprite, tmp_path):
    walk = [(60 + 9 * i, 200 + 2 * i) for i in range(3 * FPS)]  # 3 s across the scene
    clip = write_clip(tmp_path / "walk.mp4", scene, face_sprite, [None] * FPS + walk)
    result = extractor.run(clip, tmp_path / "out")
    stats = result.manifest.stats
    assert result.tracks == 1
    assert stats.frames_region_detection >= 10  # found where it moved, not on the whole frame
    track = result.manifest.tracks[0]
    assert track.detections >= 12
    assert track.first_s <= 1.3


def test_a_face_that_stops_stays_one_track_and_is_seen_again(extractor, scene, face_sprite, tmp_path):
    walk = [(100 + 10 * i, 220) for i in range(2 * FPS)]
    still = [walk[-1]] * (14 * FPS)
    clip = write_clip(tmp_path / "stop.mp4", scene, face_sprite, [None] * FPS + walk + still)
    result = extractor.run(clip, tmp_path / "out")
    stats = result.manifest.stats
    assert result.tracks == 1, result.manifest.tracks
    track = result.manifest.tracks[0]
    assert track.last_s >= 15.0  # re-detected by full-frame passes while it stood still
    # the running average absorbs the standing person after some seconds; then frames are skipped,
    # with a full-frame pass every few seconds
    assert stats.frames_skipped_still >= 15
    assert stats.frames_full_detection >= 4


def test_lights_switching_recalibrate_and_ask_for_a_full_pass(scene):
    gate = MotionGate()
    assert gate.update(scene).full_frame  # first frame
    assert not gate.update(scene).moving
    dark = (scene * 0.4).astype(np.uint8)  # IR switch / lights off
    result = gate.update(dark)
    assert result.full_frame and result.changed_fraction > 0.45
    assert not gate.update(dark).moving  # the new scene is the background now


def test_regions_are_bucketed_merged_and_kept_inside_the_frame():
    assert bucket_region(10, 10, 60, 40, 960, 540) == (0, 0, 96, 96)
    x1, y1, x2, y2 = bucket_region(900, 500, 950, 530, 960, 540)
    assert (x2 - x1, y2 - y1) == (96, 96) and x2 == 960 and y2 == 540
    assert merge_boxes([(0, 0, 50, 50), (40, 40, 100, 100), (200, 200, 210, 210)]) == [
        (0, 0, 100, 100),
        (200, 200, 210, 210),
    ]


def test_the_cctv_sample_is_deterministic(tmp_path, videos):
    digests = []
    for name in ("a.mp4", "b.mp4"):
        out = tmp_path / name
        cmd = [
            sys.executable,
            str(REPO / "scripts" / "make_cctv_sample.py"),
            str(out),
            "--seconds",
            "12",
            "--width",
            "320",
            "--source",
            str(videos / "facenet_pytorch_video.mp4"),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    cap = cv2.VideoCapture(str(tmp_path / "a.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12 * FPS
