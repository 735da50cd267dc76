"""The cascade on real photos: minimum face sizes, parity with the mtcnn package, TF against TFLite."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from appliance.detect.boxes import iou_matrix

pytestmark = pytest.mark.slow  # whole clips, real processes or model conversion


def photos(faces_dev, annotations, count):
    names = sorted(annotations)[:count]
    return [(name, cv2.imread(str(faces_dev / name))) for name in names]


def match_fraction(ref_boxes, our_boxes, min_iou=0.9):
    """Fraction of reference boxes (x1, y1, x2, y2) with an our-box at IoU >= min_iou, and the pairs."""
    if len(ref_boxes) == 0:
        return 1.0, []
    if len(our_boxes) == 0:
        return 0.0, []
    iou = iou_matrix(np.asarray(ref_boxes, float), np.asarray(our_boxes, float))
    pairs = [(i, int(iou[i].argmax())) for i in range(len(ref_boxes)) if iou[i].max() >= min_iou]
    return len(pairs) / len(ref_boxes), pairs


@pytest.mark.parametrize("min_face", [40, 60])
def test_large_min_face_finds_the_large_faces(tf_detector, faces_dev, annotations, min_face):
    """The mtcnn package returns nothing above min face 20; the cascade finds the large faces."""
    detector = tf_detector.with_min_face(min_face)
    found = expected = 0
    for name, image in photos(faces_dev, annotations, 60):
        big = [b for b in annotations[name] if min(b[2], b[3]) >= min_face * 1.2]
        if not big:
            continue
        faces = detector.detect(image)
        gt = [[x, y, x + w, y + h] for x, y, w, h in big]
        fraction, _ = match_fraction(gt, [f.xyxy for f in faces], 0.4)
        found += round(fraction * len(gt))
        expected += len(gt)
    assert expected >= 10
    assert found / expected >= 0.8, f"{found}/{expected} large faces found at min face {min_face}"


def test_parity_with_the_mtcnn_package(tf_detector, faces_dev, annotations):
    """Without its final judge the cascade is the package's."""
    from mtcnn import MTCNN

    tf_detector = tf_detector.without_judge()

    reference = MTCNN()
    total = matched = 0
    for _, image in photos(faces_dev, annotations, 24):
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        ref = reference.detect_faces(rgb, min_face_size=20, output_type="numpy")
        ref_boxes = [[r[1], r[2], r[1] + r[3], r[2] + r[4]] for r in ref]  # numpy output is x, y, w, h
        faces = tf_detector.detect(image)
        fraction, pairs = match_fraction(ref_boxes, [f.xyxy for f in faces])
        total += len(ref_boxes)
        matched += len(pairs)
        for i, j in pairs:
            assert abs(ref[i][5] - faces[j].confidence) < 5e-3
    assert total >= 100
    assert matched / total >= 0.98, f"{matched}/{total} reference faces matched at IoU >= 0.9"


def assert_same_faces(a, b, conf_tol=1e-3, min_fraction=0.99):
    fraction, pairs = match_fraction([f.xyxy for f in a], [f.xyxy for f in b])
    assert len(a) == len(b)
    assert fraction >= min_fraction
    for i, j in pairs:
        assert abs(a[i].confidence - b[j].confidence) < conf_tol
        np.testing.assert_allclose(a[i].landmarks, b[j].landmarks, atol=1.0)


def test_tflite_gives_the_tensorflow_faces_on_photos(tf_detector, tflite_detector, faces_dev, annotations):
    total = 0
    for _, image in photos(faces_dev, annotations, 32):
        a, b = tf_detector.detect(image), tflite_detector.detect(image)
        assert_same_faces(a, b)
        total += len(a)
    assert total >= 100


def test_tflite_gives_the_tensorflow_faces_on_video_frames(tf_detector, tflite_detector, videos):
    from appliance.pipeline.video import VideoSource

    total = 0
    with VideoSource(videos / "facenet_pytorch_video.mp4") as source:
        for frame in source.frames(rate=2.5):
            a, b = tf_detector.detect(frame.image), tflite_detector.detect(frame.image)
            assert_same_faces(a, b)
            total += len(a)
    assert total >= 30


def test_batched_frames_give_the_faces_of_single_frames(tflite_detector, videos):
    from appliance.pipeline.video import VideoSource

    with VideoSource(videos / "short_hamilton_clip.mp4") as source:
        frames = [f.image for f in source.frames(rate=1.0)][:4]
    batched = tflite_detector.detect_batch(frames)
    for frame, faces in zip(frames, batched, strict=True):
        assert_same_faces(tflite_detector.detect(frame), faces, conf_tol=1e-5, min_fraction=1.0)


def test_bgr_is_converted_to_rgb(tflite_detector, faces_dev, annotations):
    """Feeding the cascade BGR as if it were RGB changes confidences: the detector must convert."""
    name, image = photos(faces_dev, annotations, 1)[0]
    faces = tflite_detector.detect(image)
    raw = tflite_detector.cascade.detect(image)  # BGR passed straight to the RGB cascade
    assert faces and raw
    _, pairs = match_fraction([f.xyxy for f in faces], [f.xyxy for f in raw], min_iou=0.5)
    assert pairs, "the same faces should still be found, with other confidences"
    assert max(abs(faces[i].confidence - raw[j].confidence) for i, j in pairs) > 1e-4


def test_onet_second_opinion_separates_faces_from_noise(tflite_detector, faces_dev):
    image = cv2.imread(str(faces_dev / "voc_2008_001009.jpg"))
    faces = tflite_detector.detect(image)
    assert tflite_detector.face_scores(image, np.array([f.xyxy for f in faces])).min() > 0.9
    noise = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    boxes = np.array([[x, y, x + 40, y + 48] for x in range(0, 280, 40) for y in range(0, 190, 48)], float)
    assert tflite_detector.face_scores(noise, boxes).max() < 0.5
    assert tflite_detector.face_scores(image, np.empty((0, 4))).shape == (0,)
