"""The best-shot score on real faces: sharp beats blurred, frontal beats turned, large beats small."""

from __future__ import annotations

import cv2
import pytest

from appliance.detect import Face
from appliance.pipeline.quality import SIZE_FULL, frontalness, score


@pytest.fixture(scope="module")
def photo_and_face(faces_dev, tflite_detector):
    image = cv2.imread(str(faces_dev / "voc_2008_001009.jpg"))
    face = max(tflite_detector.detect(image), key=lambda f: f.confidence)
    return image, face


def test_a_sharp_face_scores_higher_than_the_same_face_blurred(photo_and_face):
    image, face = photo_and_face
    sharp = score(face, image)
    blurred = score(face, cv2.GaussianBlur(image, (0, 0), 3.0))
    assert sharp.sharpness > blurred.sharpness and sharp.score > blurred.score
    assert sharp.frontal == blurred.frontal and sharp.size == blurred.size


def test_frontal_beats_turned_and_rolled():
    frontal = Face((0, 0, 100, 100), 0.99, ((30, 40), (70, 40), (50, 60), (35, 80), (65, 80)))
    turned = Face((0, 0, 100, 100), 0.99, ((30, 40), (70, 40), (66, 60), (35, 80), (65, 80)))
    rolled = Face((0, 0, 100, 100), 0.99, ((30, 30), (70, 50), (50, 60), (35, 80), (65, 80)))
    assert frontalness(frontal) == pytest.approx(1.0)
    assert frontalness(turned) < 0.4 < frontalness(rolled) < frontalness(frontal)
    assert frontalness(Face((0, 0, 100, 100), 0.99)) == 0.5  # no landmarks: neither


def test_size_saturates_and_confidence_counts_above_onets_threshold(photo_and_face):
    image, face = photo_and_face
    x, y, w, h = face.box
    small = Face((x, y, w / 4, h / 4), face.confidence, face.landmarks)
    assert score(small, image).size < score(face, image).size <= 1.0
    huge = Face((0, 0, SIZE_FULL * 3, SIZE_FULL * 3), 0.99, face.landmarks)
    assert score(huge, image).size == 1.0
    unsure = Face(face.box, 0.81, face.landmarks)
    assert score(unsure, image).score < score(face, image).score
