"""The cascade's final judge: which of ONet's candidates are faces, weighing more than ONet's score.

ONet's confidence alone ranks faces; a little more of what the cascade can cheaply know separates
faces from face-like things better: ONet's opinion of the face's final (regressed) box, of that
box mirrored (a face is a face either way round; a fold of cloth often is not) and of the box grown
to show the head around it; RNet's opinion of the box; the face's size; and where ONet puts the eyes,
nose and mouth in the box (on faces they agree, on blobs they wander). A logistic model weighs them
(the night check's idea, :mod:`appliance.pipeline.night_check`, for every frame).

With the judge the cascade lets ONet's candidates through from :attr:`Judge.floor` (below the 0.8
it otherwise needs): a face ONet approved of is kept if the judge rates it :attr:`Judge.threshold`
or more, a face ONet doubted needs :attr:`Judge.doubted_threshold`. The model and its threshold
were fitted and chosen on one half of the dev photos and confirmed on the other; the doubted
threshold was set by hand after the busy clip (``scripts/recall_sweep.py --write-judge``;
docs/detection-quality.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .face import Face

WEIGHTS_FILE = Path(__file__).with_name("judge.json")
ENLARGED = 1.25  # the grown box's side against the face's: ONet then sees the head around the face
FEATURES = (
    "confidence",
    "rescored",
    "mirrored",
    "enlarged",
    "rnet",
    "log_size",
    "eye_distance",
    "eye_tilt",
    "nose_offset",
    "mouth_width",
    "eyes_to_mouth",
    "eye_height",
)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def landmark_geometry(face: Face) -> list[float]:
    """The landmarks in box units: eye distance and tilt, the nose off the eyes' middle, mouth width,
    eyes-to-mouth height, and how far the eyes sit from 40 % down the box."""
    x, y, w, h = face.box
    points = np.array(face.landmarks, dtype=np.float64).reshape(-1, 2)
    if len(points) < 5:
        return [0.0] * 6
    points = (points - (x, y)) / (max(w, 1.0), max(h, 1.0))
    left_eye, right_eye, nose, mouth_left, mouth_right = points[:5]
    eye_distance = right_eye[0] - left_eye[0]
    return [
        eye_distance,
        abs(right_eye[1] - left_eye[1]),
        abs((nose[0] - left_eye[0]) / max(eye_distance, 1e-3) - 0.5),
        mouth_right[0] - mouth_left[0],
        (mouth_left[1] + mouth_right[1]) / 2 - (left_eye[1] + right_eye[1]) / 2,
        abs((left_eye[1] + right_eye[1]) / 2 - 0.4),
    ]


def rows(faces: Sequence[Face], opinions: np.ndarray) -> np.ndarray:
    """One row of :data:`FEATURES` per face, given the nets' second opinions (N, 4) of each."""
    if not faces:
        return np.zeros((0, len(FEATURES)))
    columns = [logit(np.array([face.confidence for face in faces]))]
    columns += [logit(column) for column in np.asarray(opinions, dtype=np.float64).T]
    columns.append(np.log(np.array([max(face.size, 1.0) for face in faces])))
    geometry = np.array([landmark_geometry(face) for face in faces], dtype=np.float64)
    return np.column_stack([*columns, geometry])


@dataclass(frozen=True)
class Judge:
    """A logistic model over :data:`FEATURES`, and the rule on its probability. Among ONet's candidates
    above ``floor``: a face ONet approves of (above its own threshold) is kept from ``threshold`` on,
    a face ONet doubted needs ``doubted_threshold``."""

    weights: tuple[float, ...]
    bias: float
    threshold: float
    doubted_threshold: float
    floor: float

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Judge:
        return _load(path)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(features @ np.asarray(self.weights) + self.bias)))

    def keeps(self, probability: float, confidence: float, onet_threshold: float) -> bool:
        """Whether a face of this judge's ``probability`` and ONet ``confidence`` is kept."""
        needed = self.threshold if confidence > onet_threshold else self.doubted_threshold
        return probability >= needed


@cache
def _load(path: Path) -> Judge:
    data = json.loads(path.read_text())
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path}: features {data['features']} are not the ones computed here {FEATURES}")
    numbers = (float(data[k]) for k in ("bias", "threshold", "doubted_threshold", "floor"))
    return Judge(tuple(float(w) for w in data["weights"]), *numbers)
