"""The night check: a model fitted on tuning data only, computed on crops exactly as on whole frames."""

from __future__ import annotations

import json

import cv2
import numpy as np

from appliance.detect import Face
from appliance.evaluation import degrade
from appliance.pipeline import enhance, night_check
from appliance.pipeline.finder import NIGHT_SEARCH_THRESHOLDS


def test_the_weights_were_fitted_on_tuning_models_only_and_name_the_features_computed_here():
    stored = json.loads(night_check.WEIGHTS_FILE.read_text())
    check = night_check.NightCheck.load()
    assert tuple(stored["features"]) == night_check.FEATURES
    assert len(check.weights) == len(night_check.FEATURES) and 0.5 <= check.threshold < 1.0
    assert set(stored["fitted_on"]["models"]) == set(degrade.NIGHT_TUNING)
    assert not set(stored["fitted_on"]["models"]) & set(degrade.NIGHT_HELD_OUT)
    assert "held-out models, held-out photos" in stored["confirmation"]


def test_a_weights_file_for_other_features_is_refused(tmp_path):
    stored = json.loads(night_check.WEIGHTS_FILE.read_text())
    stored["features"] = stored["features"][::-1]
    (tmp_path / "w.json").write_text(json.dumps(stored))
    try:
        night_check.NightCheck.load(tmp_path / "w.json")
    except ValueError as error:
        assert "not the ones computed here" in str(error)
    else:
        raise AssertionError("a weights file for other features was accepted")


def test_check_views_made_around_the_candidates_score_as_whole_frame_views(tflite_detector, faces_dev):
    """Every view is scored on one crop holding the candidates: ONet must see the pixels of the whole frame."""
    image = cv2.imread(str(faces_dev / "voc_2008_001009.jpg"))
    night = degrade.apply(image, ["night-a"], "voc_2008_001009.jpg")
    views = enhance.views(night)
    assert views is not None
    candidates = [f for found in tflite_detector.with_thresholds(NIGHT_SEARCH_THRESHOLDS).detect_batch(views.search)
                  for f in found]  # fmt: skip
    assert candidates
    rows = night_check.features(tflite_detector, night, views.table, views.search, candidates)
    boxes = np.array([f.xyxy for f in candidates])
    whole = [tflite_detector.face_scores(view, boxes) for view in views.search]
    whole += [
        tflite_detector.face_scores(enhance.apply_table(make(night), views.table), boxes)
        for make in night_check.CHECK_FILTERS
    ]
    assert np.allclose(rows[:, : len(whole)], night_check._logit(np.array(whole).T), atol=1e-4)


def test_landmark_geometry_of_a_face_and_of_a_blob():
    face = Face((0, 0, 100, 100), 0.9, ((30, 40), (70, 40), (50, 60), (35, 80), (65, 80)))
    eye_distance, tilt, nose_offset, mouth_width, eyes_to_mouth, eye_height = night_check.landmark_geometry(face)
    assert np.allclose((eye_distance, tilt, nose_offset), (0.4, 0.0, 0.0))
    assert np.isclose(mouth_width, 0.3) and np.isclose(eyes_to_mouth, 0.4) and np.isclose(eye_height, 0.0)
    assert night_check.landmark_geometry(Face((0, 0, 10, 10), 0.9)) == [0.0] * 6
