"""Faces aligned on their five landmarks: the 112x112 input of face recognisers, and a neat crop."""

from __future__ import annotations

import cv2
import numpy as np

from .face import Face

# Five-point template for a 112x112 aligned face (the ArcFace/InsightFace convention).
ALIGN_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def align_face(frame_bgr: np.ndarray, face: Face, side: int = 112) -> np.ndarray | None:
    """A ``side``x``side`` crop with the eyes, nose and mouth on the template; None without landmarks."""
    if len(face.landmarks) < 5:
        return None
    src = np.asarray(face.landmarks, dtype=np.float32)
    dst = ALIGN_TEMPLATE * (side / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if matrix is None:
        return None
    return cv2.warpAffine(frame_bgr, matrix, (side, side), borderMode=cv2.BORDER_REPLICATE)
