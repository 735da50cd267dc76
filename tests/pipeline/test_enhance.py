"""Low-light enhancement earns its keep on darkened real photos, and leaves bright ones alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from appliance.detect import Face
from appliance.evaluation import degrade
from appliance.evaluation.detection import evaluate
from appliance.pipeline import enhance
from appliance.pipeline.finder import FaceFinder

pytestmark = pytest.mark.slow  # whole clips, real processes or model conversion


def test_enhancement_recovers_recall_on_darkened_photos(tflite_detector, faces_dev):
    """On 40 night-degraded dev photos, auto enhancement finds clearly more faces at similar precision."""
    annotations = faces_dev / "annotations.json"
    plain = evaluate(FaceFinder(tflite_detector, "off").find, faces_dev, annotations, 20, "dark,noise", limit=40)
    enhanced = evaluate(FaceFinder(tflite_detector, "auto").find, faces_dev, annotations, 20, "dark,noise", limit=40)
    clean = evaluate(FaceFinder(tflite_detector, "auto").find, faces_dev, annotations, 20, None, limit=40)
    assert plain["faces"] >= 150
    assert clean["recall"] - plain["recall"] > 0.2  # the degradation hurts
    # the targets on this subset: half the lost recall back, precision down by <= 0.03
    assert enhanced["recall"] >= plain["recall"] + (clean["recall"] - plain["recall"]) / 2
    assert enhanced["precision"] >= plain["precision"] - 0.03


def test_enhancement_holds_on_a_night_model_it_was_not_tuned_on(tflite_detector, faces_dev):
    """night-f (colour, Gaussian read noise, JPEG 30) was held out while the night check was fitted and
    its threshold chosen: on 40 photos it must still win back a third of the recall the night costs
    (measured: 37 %; the target of 40 % over all photos is missed, README) without losing precision."""
    annotations = faces_dev / "annotations.json"
    tuned_on = tflite_detector.without_judge()  # the cascade the night check was fitted with
    clean = evaluate(FaceFinder(tuned_on, "off").find, faces_dev, annotations, 20, None, limit=40)
    plain = evaluate(FaceFinder(tuned_on, "off").find, faces_dev, annotations, 20, "night-f", limit=40)
    enhanced = evaluate(FaceFinder(tuned_on, "auto").find, faces_dev, annotations, 20, "night-f", limit=40)
    assert clean["recall"] - plain["recall"] > 0.5  # the night costs most of the faces
    assert enhanced["recall"] >= plain["recall"] + (clean["recall"] - plain["recall"]) / 3
    assert enhanced["precision"] >= plain["precision"] - 0.03
    # with the final judge (default) the night loses no face the enhancement won back
    judged = evaluate(FaceFinder(tflite_detector, "auto").find, faces_dev, annotations, 20, "night-f", limit=40)
    assert judged["recall"] >= enhanced["recall"] and judged["precision"] >= enhanced["precision"] - 0.01


def test_enhanced_candidates_need_the_night_check(tflite_detector, faces_dev):
    """Faces found in an enhanced view are kept only if the night check, ONet's opinion across several
    denoised views, calls them faces."""
    image = cv2.imread(str(faces_dev / "voc_2008_001009.jpg"))
    faces = tflite_detector.detect(image)
    assert len(faces) == 2
    night = degrade.apply(image, ["dark", "noise"], "voc_2008_001009.jpg")
    finder = FaceFinder(tflite_detector, "auto")
    assert len(finder.confirmed(faces, enhance.views(night))) == 2  # real faces, seen in the dark
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    blobs = [Face((float(x), float(y), 40.0, 48.0), 0.95) for x in range(0, 280, 40) for y in range(0, 190, 48)]
    assert finder.confirmed(blobs, enhance.views(noise, "stretch")) == []  # noise, however confident
    assert len(tflite_detector.detect(night)) < 2 <= len(finder.find(night))


def test_enhancement_leaves_bright_photos_alone(tflite_detector, faces_dev):
    finder = FaceFinder(tflite_detector, "auto")
    annotations = faces_dev / "annotations.json"
    with_auto = evaluate(finder.find, faces_dev, annotations, 20, None, limit=30)
    without = evaluate(FaceFinder(tflite_detector, "off").find, faces_dev, annotations, 20, None, limit=30)
    # a few dim photos (mean luma < 60) are searched enhanced too: they may gain a face, never lose one,
    # and what they add must not be noise
    assert 1 <= finder.enhanced_frames <= 5
    assert without["recall"] <= with_auto["recall"] <= without["recall"] + 0.02
    assert abs(with_auto["precision"] - without["precision"]) <= 0.01


def test_stretch_lookup_table_equals_the_per_pixel_formula(faces_dev):
    """The stretch is computed from a histogram and a lookup table: check it against the plain formula."""
    image = cv2.imread(str(faces_dev / "voc_2008_001009.jpg"))
    for picture in (image, degrade.apply(image, ["dark", "noise"], "x")):
        ycrcb = cv2.cvtColor(picture, cv2.COLOR_BGR2YCrCb)
        y = ycrcb[..., 0].astype(np.float32)
        lo, hi = np.percentile(y, (0.5, 99.5))
        hi = max(hi, lo + 16.0)
        ycrcb[..., 0] = (255.0 * np.power(np.clip((y - lo) / (hi - lo), 0, 1), 0.8)).astype(np.uint8)
        assert np.array_equal(enhance.stretch_luma(picture), cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR))
    values = np.random.default_rng(3).integers(0, 256, 10_001, dtype=np.uint8)
    percents = (0.0, 0.5, 37.3, 99.5, 100.0)
    assert np.allclose(enhance._percentiles_u8(values, percents), np.percentile(values, percents))
