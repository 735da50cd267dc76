"""The second opinion on a face found only in an enhanced view of a dark frame.

Brightening a dark frame brightens its noise, and noise makes face-like blobs: the cascade run on
an enhanced view proposes real faces the plain frame hid, and blobs. Each proposal is re-scored by
ONet in several differently denoised views of the frame (a real face stays a face whatever the
denoiser, a blob rarely does in all of them), and a small logistic model weighs those opinions
together with the cascade's own confidence, the face's size and where ONet puts its eyes, nose and
mouth. The model was fitted on the tuning night models and half of the dev photos, and its
threshold chosen there; it is confirmed on night models and photos it never saw
(``scripts/night_check_fit.py``, docs/detection-quality.md).

Check views are made only around the proposals (one crop holding them all), with the stretch
measured once on the whole frame, so a frame with two proposals does not pay for five denoised
copies of itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from ..detect import Detector, Face
from ..detect.boxes import square
from ..detect.judge import landmark_geometry
from ..detect.judge import logit as _logit
from .enhance import apply_table

WEIGHTS_FILE = Path(__file__).with_name("night_check.json")
# each check view's filter reaches this far; a crop keeps that margin around the ONet patches
FILTER_REACH_PX = 12


def _median(image: np.ndarray) -> np.ndarray:
    return cv2.medianBlur(image, 3)


def _light_blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), 0.8)


def _heavy_blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), 2.0)


def _as_it_is(image: np.ndarray) -> np.ndarray:
    return image


# the check views besides the search views, in the order of the model's features
CHECK_FILTERS: tuple[Callable[[np.ndarray], np.ndarray], ...] = (_median, _light_blur, _heavy_blur, _as_it_is)
FEATURES = (
    "search_a",
    "search_b",
    "median",
    "light_blur",
    "heavy_blur",
    "as_it_is",
    "confidence",
    "log_size",
    "eye_distance",
    "eye_tilt",
    "nose_offset",
    "mouth_width",
    "eyes_to_mouth",
    "eye_height",
)


@dataclass(frozen=True)
class NightCheck:
    """A logistic model over ONet's opinions in several views; keeps candidates at ``threshold`` or above."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> NightCheck:
        return _load(path)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(features @ np.asarray(self.weights) + self.bias)))

    def keep(self, features: np.ndarray) -> np.ndarray:
        return self.probabilities(features) >= self.threshold


@cache
def _load(path: Path) -> NightCheck:
    data = json.loads(path.read_text())
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path}: features {data['features']} are not the ones computed here {FEATURES}")
    return NightCheck(tuple(float(w) for w in data["weights"]), float(data["bias"]), float(data["threshold"]))


def features(
    detector: Detector,
    frame: np.ndarray,
    table: np.ndarray,
    search_views: Sequence[np.ndarray],
    candidates: Sequence[Face],
) -> np.ndarray:
    """One row of :data:`FEATURES` per candidate of a dark ``frame`` (stretched by ``table``)."""
    boxes = np.array([face.xyxy for face in candidates], dtype=np.float64)
    x1, y1, x2, y2 = _region(boxes, frame.shape[:2])
    placed = _placed_in_crop(square(boxes), frame.shape[:2], (x1, y1, x2, y2))
    crop = frame[y1:y2, x1:x2]
    views = [view[y1:y2, x1:x2] for view in search_views]
    views += [apply_table(make(crop), table) for make in CHECK_FILTERS]
    scores = [detector.face_scores(view, placed, squared=True) for view in views]
    columns = [_logit(s) for s in scores]
    columns.append(_logit(np.array([face.confidence for face in candidates])))
    columns.append(np.log(np.array([max(face.size, 1.0) for face in candidates])))
    geometry = np.array([landmark_geometry(face) for face in candidates], dtype=np.float64)
    return np.column_stack([*columns, geometry])


def _placed_in_crop(squared: np.ndarray, shape: tuple[int, ...], crop: tuple[int, int, int, int]) -> np.ndarray:
    """Boxes moved into the crop so that ONet's patches sample the very pixels they sample in the frame.

    Patches are sampled as ``tf.image.crop_and_resize`` does (box corners scaled by
    ``(size - 1) / size`` of the image they are cut from), so a plain shift would move them by up to
    a pixel in a crop: each corner is mapped from the frame's sampling grid onto the crop's.
    """
    height, width = shape[:2]
    x1, y1, x2, y2 = crop
    crop_width, crop_height = x2 - x1, y2 - y1
    xs = (squared[:, [0, 2]] * (width - 1) / width - x1) * crop_width / max(crop_width - 1, 1)
    ys = (squared[:, [1, 3]] * (height - 1) / height - y1) * crop_height / max(crop_height - 1, 1)
    return np.column_stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]])


def _region(boxes: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The crop holding every candidate's squared ONet patch, plus the filters' reach, inside the frame."""
    squared = square(boxes)
    height, width = shape[:2]
    x1 = int(max(np.floor(squared[:, 0].min()) - FILTER_REACH_PX, 0))
    y1 = int(max(np.floor(squared[:, 1].min()) - FILTER_REACH_PX, 0))
    x2 = int(min(np.ceil(squared[:, 2].max()) + FILTER_REACH_PX + 1, width))
    y2 = int(min(np.ceil(squared[:, 3].max()) + FILTER_REACH_PX + 1, height))
    return x1, y1, x2, y2
