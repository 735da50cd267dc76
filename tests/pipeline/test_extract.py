"""End to end on the shared clips, and bad input: a clear error, nothing lost, other inputs done.

The clips as the pipeline analyses them by default are the session's ``default_runs`` (shared with the
grouping and case tests); runs with other settings or inputs are made here."""

from __future__ import annotations

import json

import cv2
import pytest

from appliance.pipeline.extract import Extractor
from appliance.pipeline.video import InputError
from appliance.settings import ExtractSettings
from tests.clips import bad_inputs
from tests.conftest import HAMILTON_AS_RECORDED

pytestmark = pytest.mark.slow  # whole clips, real processes or model conversion

MANIFEST_KEYS = {"source", "backend", "settings", "stats", "tracks"}
SOURCE_KEYS = {"path", "sha256", "size_bytes", "duration_s", "fps", "frames", "width", "height"}
LANDMARKS = {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}


@pytest.fixture(scope="module")
def extractor(tflite_detector):
    return Extractor(ExtractSettings(backend="tflite"), detector=tflite_detector)


def check_result(result, detector, min_face_fraction=0.8):
    """The manifest is complete and consistent; each best shot is a JPEG that shows a face."""
    manifest = json.loads((result.output / "manifest.json").read_text())
    assert manifest.keys() >= MANIFEST_KEYS
    assert manifest["source"].keys() >= SOURCE_KEYS
    src = manifest["source"]
    assert len(manifest["tracks"]) == result.tracks
    with_face = 0
    for track in manifest["tracks"]:
        best = track["best"]
        assert track["first_s"] <= best["time_s"] <= track["last_s"]
        assert set(best["landmarks"]) == LANDMARKS
        x, y, w, h = best["box"]
        assert x >= 0 and y >= 0 and x + w <= src["width"] and y + h <= src["height"]
        crop = cv2.imread(str(result.output / best["file"]))
        assert crop is not None and crop.shape[0] >= h * 0.9
        padded = cv2.copyMakeBorder(crop, 40, 40, 40, 40, cv2.BORDER_CONSTANT)
        with_face += bool(detector.with_min_face(12).detect(padded))
    assert with_face >= min_face_fraction * len(manifest["tracks"])
    rows = (result.output / "faces.csv").read_text().strip().splitlines()
    assert len(rows) == result.tracks + 1
    return manifest


def test_busy_clip_gives_one_crop_per_person(default_runs, tflite_detector):
    result = default_runs["facenet_pytorch_video.mp4"]  # the default pipeline's run, shared
    assert result.output == default_runs.outbox / "facenet_pytorch_video"
    assert 9 <= result.tracks <= 11, result.tracks  # 9 people, one crossing the foreground fast
    manifest = check_result(result, tflite_detector)
    assert manifest["source"]["frames"] == 105 and manifest["source"]["width"] == 1920
    # every frame that others refer to or that is analysed; B-frames nobody needs are skipped
    assert 21 < manifest["stats"]["frames_decoded"] < 105
    assert manifest["stats"]["frames_analysed"] == 21  # 25 fps analysed at 5 fps
    assert not list(default_runs.outbox.glob(".partial-*"))


def test_shot_cuts_clip_finds_its_people(default_runs, tflite_detector):
    result = default_runs[HAMILTON_AS_RECORDED]  # short_hamilton_clip.mp4, named as a recorder names it
    assert result.tracks >= 5
    check_result(result, tflite_detector, 0.6)


def test_night_crowd_from_above_gives_almost_nothing(default_runs):
    result = default_runs["MOT20-05-raw_even_shorter.mp4"]
    assert result.tracks <= 2


def test_tiny_clip_and_still_image(extractor, tflite_detector, default_runs, faces_dev, tmp_path):
    clip = default_runs["carphone_pristine.mp4"]
    assert clip.tracks == 1
    photo = extractor.run(faces_dev / "voc_2008_004176.jpg", tmp_path)
    assert photo.tracks == 7  # one frame: every face is its own track
    check_result(photo, tflite_detector)


def test_existing_results_are_never_overwritten(extractor, videos, tmp_path):
    first = extractor.run(videos / "carphone_pristine.mp4", tmp_path)
    before = (first.output / "manifest.json").read_bytes()
    second = extractor.run(videos / "carphone_pristine.mp4", tmp_path)
    third = extractor.run(videos / "carphone_pristine.mp4", tmp_path)
    assert [second.output.name, third.output.name] == ["carphone_pristine-2", "carphone_pristine-3"]
    assert (first.output / "manifest.json").read_bytes() == before


def test_all_crops_and_aligned_options(tflite_detector, videos, tmp_path):
    settings = ExtractSettings(backend="tflite", all_crops=True, aligned=True)
    result = Extractor(settings, detector=tflite_detector).run(videos / "carphone_pristine.mp4", tmp_path)
    manifest = json.loads((result.output / "manifest.json").read_text())
    all_crops = list((result.output / "all").glob("*.jpg"))
    assert len(all_crops) == manifest["stats"]["detections"] >= 15
    aligned = cv2.imread(str(result.output / "aligned" / "track-0001.jpg"))
    assert aligned.shape == (112, 112, 3)


def test_bad_inputs_raise_clear_errors_and_leave_nothing(extractor, videos, tmp_path):
    expected = {
        "empty.mp4": "empty",
        "notes.mp4": "not a readable video",
        "cut.mp4": "not a readable video",
        "cut-faststart.mp4": "truncated",
    }
    out = tmp_path / "out"
    for name, path in bad_inputs(tmp_path, videos).items():
        size = path.stat().st_size
        with pytest.raises(InputError, match=expected[name]):
            extractor.run(path, out)
        assert path.stat().st_size == size  # the footage is untouched
    assert not out.exists() or not any(out.iterdir()) or [p.name for p in out.iterdir()] == [".lock"]
