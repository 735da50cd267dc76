"""Evaluation rules on hand-built cases; deterministic degradations."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from appliance.evaluation import degrade
from appliance.evaluation.detection import match

FACE = [100, 100, 40, 40]
TINY = [300, 300, 10, 12]  # below the minimum face size: don't-care


def det(box, confidence):
    return (tuple(float(v) for v in box), confidence)


def test_a_hit_a_miss_and_a_false_positive():
    m = match([FACE, [200, 100, 40, 40]], [det([102, 98, 40, 42], 0.99), det([500, 500, 40, 40], 0.95)], 20)
    assert (m.hits, m.faces, m.false_positives, m.detections) == (1, 2, 1, 2)
    assert m.hit_flags == [True, False]


def test_detections_on_dont_care_faces_count_for_nothing():
    m = match([FACE, TINY], [det([300, 300, 11, 12], 0.99), det(FACE, 0.98)], 20)
    assert (m.hits, m.faces, m.false_positives, m.detections) == (1, 1, 0, 1)


def test_a_small_detection_on_no_face_is_dont_care_but_a_large_one_is_a_false_positive():
    m = match([FACE], [det([400, 400, 14, 14], 0.99), det([400, 10, 30, 30], 0.99)], 20)
    assert (m.false_positives, m.detections) == (1, 1)


def test_a_duplicate_detection_is_a_false_positive_and_the_best_one_takes_the_face():
    m = match([FACE], [det([104, 104, 40, 40], 0.90), det(FACE, 0.99)], 20)
    assert (m.hits, m.false_positives) == (1, 1)


def test_a_detection_below_the_overlap_threshold_is_a_miss():
    m = match([FACE], [det([125, 125, 40, 40], 0.99)], 20)  # IoU 0.14
    assert (m.hits, m.false_positives) == (0, 1)


@pytest.mark.parametrize("names", [["dark"], ["noise"], ["blur"], ["jpeg"], ["lowres"], ["dark", "noise"]])
def test_degradations_are_deterministic_and_change_the_image(faces_dev, names):
    image = cv2.imread(str(faces_dev / "voc_2008_001009.jpg"))
    a = degrade.apply(image, names, "voc_2008_001009.jpg", seed=3)
    b = degrade.apply(image, names, "voc_2008_001009.jpg", seed=3)
    assert a.shape == image.shape and np.array_equal(a, b)
    assert not np.array_equal(a, image)
    if "noise" in names:  # the noise depends on the seed and on the image's key
        assert not np.array_equal(a, degrade.apply(image, names, "voc_2008_001009.jpg", seed=4))
        assert not np.array_equal(a, degrade.apply(image, names, "other.jpg", seed=3))


def test_dark_is_a_night_scene(faces_dev):
    image = cv2.imread(str(faces_dev / "voc_2008_001009.jpg"))
    night = degrade.apply(image, ["dark", "noise"], "x")
    assert cv2.cvtColor(night, cv2.COLOR_BGR2GRAY).mean() < 0.35 * cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean()


def test_unknown_degradation_is_refused():
    with pytest.raises(ValueError, match="fog"):
        degrade.parse("dark,fog")
