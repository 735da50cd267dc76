"""How good a face crop is for a person to look at: sharp, frontal, large, confidently a face."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..detect import Face

SHARPNESS_SIDE = 64  # crops are compared at one size so large faces do not win on pixel count
SHARPNESS_HALF = 150.0  # variance of the Laplacian that scores 0.5
SIZE_FULL = 100.0  # face size (px) that scores 1.0
CONFIDENCE_FLOOR = 0.8  # ONet confidence that scores 0 (ONet's own threshold); 1.0 scores 1
MAX_ROLL_DEG = 45.0  # head roll that scores 0 on the roll part of frontalness
ROLL_SHARE = 0.3  # how much of frontalness is roll (the rest: the nose between the eyes)
NO_LANDMARKS_FRONTAL = 0.5  # a face without landmarks: neither frontal nor turned
WEIGHTS = {"confidence": 0.15, "size": 0.3, "sharpness": 0.3, "frontal": 0.25}


@dataclass(frozen=True)
class Quality:
    score: float
    sharpness: float
    frontal: float
    size: float
    confidence: float

    def rounded(self, digits: int = 4) -> dict[str, float]:
        return {k: round(v, digits) for k, v in self.__dict__.items()}


def sharpness(gray_face: np.ndarray) -> float:
    """Variance of the Laplacian of the face resized to a fixed side."""
    if gray_face.size == 0:
        return 0.0
    patch = cv2.resize(gray_face, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(patch, cv2.CV_64F).var())


def frontalness(face: Face) -> float:
    """1.0 for a frontal, upright face; towards 0 as it turns (nose off the eyes' midline) or rolls."""
    if len(face.landmarks) < 5:
        return NO_LANDMARKS_FRONTAL
    (lx, ly), (rx, ry), (nx, ny) = face.landmarks[0], face.landmarks[1], face.landmarks[2]
    eye_dist = float(np.hypot(rx - lx, ry - ly))
    if eye_dist < 1e-6:
        return 0.0
    # horizontal turn: where the nose sits between the eyes (0.5 = centred)
    t = ((nx - lx) * (rx - lx) + (ny - ly) * (ry - ly)) / eye_dist**2
    yaw = max(0.0, 1.0 - abs(t - 0.5) * 2.0)
    roll = abs(np.degrees(np.arctan2(ry - ly, rx - lx)))
    roll_score = max(0.0, 1.0 - roll / MAX_ROLL_DEG)
    return float(yaw * (1.0 - ROLL_SHARE + ROLL_SHARE * roll_score))


def score(face: Face, frame_bgr: np.ndarray) -> Quality:
    x, y, w, h = (int(round(v)) for v in face.box)
    x, y = max(x, 0), max(y, 0)
    crop = frame_bgr[y : y + max(h, 1), x : x + max(w, 1)]
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.size else crop
    sharp_raw = sharpness(gray)
    sharp = sharp_raw / (sharp_raw + SHARPNESS_HALF)
    size = min(face.size / SIZE_FULL, 1.0)
    conf = min(max((face.confidence - CONFIDENCE_FLOOR) / (1.0 - CONFIDENCE_FLOOR), 0.0), 1.0)
    front = frontalness(face)
    total = (
        WEIGHTS["confidence"] * conf
        + WEIGHTS["size"] * size
        + WEIGHTS["sharpness"] * sharp
        + WEIGHTS["frontal"] * front
    )
    return Quality(total, sharp, front, size, face.confidence)
