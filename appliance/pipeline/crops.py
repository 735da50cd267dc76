"""Face crops cut from the clean frame: a margin around the box, or aligned on the landmarks."""

from __future__ import annotations

import cv2
import numpy as np

from ..detect import Face

# Five-point template for a 112x112 aligned face (the ArcFace/InsightFace convention).
ALIGN_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def margin_box(face: Face, width: int, height: int, margin: float) -> tuple[int, int, int, int]:
    """``x1, y1, x2, y2`` of the face box grown by ``margin`` of its size on each side, clamped."""
    x, y, w, h = face.box
    mx, my = w * margin, h * margin
    x1 = int(max(np.floor(x - mx), 0))
    y1 = int(max(np.floor(y - my), 0))
    x2 = int(min(np.ceil(x + w + mx), width))
    y2 = int(min(np.ceil(y + h + my), height))
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def crop_face(frame_bgr: np.ndarray, face: Face, margin: float = 0.2) -> np.ndarray:
    x1, y1, x2, y2 = margin_box(face, frame_bgr.shape[1], frame_bgr.shape[0], margin)
    return frame_bgr[y1:y2, x1:x2].copy()


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
