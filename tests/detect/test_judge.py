"""The cascade's final judge on real photos, both backends: it keeps real faces ONet doubted, drops
face-like things ONet was sure of, and stays out of the way where thresholds are set by hand."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from appliance.detect.boxes import iou_matrix
from appliance.detect.judge import FEATURES, Judge

pytestmark = pytest.mark.slow  # real inference on both backends


def found_at(faces, box, min_iou=0.5):
    """The face found on ``box`` ([x, y, w, h]), or None."""
    if not faces:
        return None
    x, y, w, h = box
    iou = iou_matrix(np.array([[x, y, x + w, y + h]], float), np.array([f.xyxy for f in faces], float))[0]
    return faces[int(iou.argmax())] if iou.max() >= min_iou else None


def annotated(annotations, name, box) -> bool:
    """Whether a ground-truth face of photo ``name`` lies on ``box`` ([x, y, w, h], IoU >= 0.5)."""
    x, y, w, h = box
    gt = np.array([[gx, gy, gx + gw, gy + gh] for gx, gy, gw, gh in annotations[name]], float)
    return bool(iou_matrix(np.array([[x, y, x + w, y + h]], float), gt).max() >= 0.5)


def test_the_judge_keeps_a_doubted_face_and_drops_a_sure_false_one(detector, faces_dev, annotations):
    """An annotated face ONet rates 0.71 (below its 0.8) on a dancing photo is kept; on a marching band
    photo a face-like patch ONet rates 0.87 (no face there in the annotations) is dropped."""
    dancing, band = "wider_4_Dancing_Dancing_4_319.jpg", "wider_0_Parade_marchingband_1_653.jpg"
    judge = Judge.load()
    image = cv2.imread(str(faces_dev / dancing))
    plain, judged = detector.without_judge().detect(image), detector.detect(image)
    real = [329, 72, 29, 34]
    assert annotated(annotations, dancing, real)
    assert found_at(plain, real) is None and (kept := found_at(judged, real)) is not None
    assert kept.confidence < 0.8 and kept.score is not None and kept.score >= judge.doubted_threshold
    assert all(face.score is not None and face.score >= judge.threshold for face in judged)
    assert all(face.score is None and face.confidence > 0.8 for face in plain)
    image = cv2.imread(str(faces_dev / band))
    false = [625, 139, 22, 29]
    assert not annotated(annotations, band, false)
    assert found_at(detector.without_judge().detect(image), false, 0.7) is not None
    assert found_at(detector.detect(image), false, 0.7) is None


def test_a_larger_face_onet_doubted_is_kept(detector, faces_dev, annotations):
    name = "wider_2_Demonstration_Protesters_2_258.jpg"
    image = cv2.imread(str(faces_dev / name))
    face = [125, 150, 74, 93]
    assert found_at(detector.without_judge().detect(image), face) is None
    kept = found_at(detector.detect(image), face)
    assert kept is not None and kept.confidence < 0.8 and kept.score > 0.8
    x1, y1, x2, y2 = kept.xyxy
    assert annotated(annotations, name, [x1, y1, x2 - x1, y2 - y1])


def test_a_lower_judge_threshold_only_adds_faces(tflite_detector, faces_dev):
    image = cv2.imread(str(faces_dev / "wider_0_Parade_Parade_0_873.jpg"))
    kept = tflite_detector.detect(image)
    swept, operating = tflite_detector.sweeping(0.05)
    more = swept.detect(image)
    judge = Judge.load()
    assert judge.threshold <= min(f.score for f in kept)
    assert all(f.score >= judge.doubted_threshold for f in kept if f.confidence <= 0.8)
    assert len(more) > len(kept)
    assert [f for f in more if operating(f)] == kept


def test_explicit_thresholds_turn_the_judge_off(tflite_detector):
    night = tflite_detector.with_thresholds((0.5, 0.6, 0.5))
    assert tflite_detector.settings.judge and not night.settings.judge
    assert len(Judge.load().weights) == len(FEATURES)


def test_second_opinions_of_a_real_face_are_confident(tflite_detector, faces_dev, annotations):
    from appliance.detect.cascade import normalise

    image = cv2.imread(str(faces_dev / "voc_2008_007676.jpg"))
    faces = tflite_detector.without_judge().detect(image)
    assert len(faces) >= 5
    boxes = np.array([f.xyxy for f in faces], float)
    opinions = tflite_detector.cascade.second_opinions([normalise(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))], [boxes])
    assert opinions.shape == (len(faces), 4)
    assert np.median(opinions, axis=0).min() > 0.9  # ONet (as is, mirrored, grown) and RNet agree: faces
    noise = np.random.default_rng(0).integers(0, 256, image.shape, dtype=np.uint8)
    assert np.median(tflite_detector.cascade.second_opinions([normalise(noise)], [boxes])[:, 0]) < 0.5
