"""Face crops cut from the clean frame: a margin around the box, or aligned on the landmarks (``align_face``)."""

from __future__ import annotations

import numpy as np

from ..detect import Face
from ..detect.align import align_face

__all__ = ["align_face", "crop_face", "margin_box"]


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
