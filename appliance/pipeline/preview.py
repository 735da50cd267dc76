"""The frame being analysed, as a small picture with its face boxes: the live view on the page."""

from __future__ import annotations

import cv2
import numpy as np

from ..detect import Face
from .video import Frame

PREVIEW_MAX_SIDE = 640
BOX_COLOUR = (0, 200, 0)  # BGR


def preview_image(frame: Frame, faces: list[Face], max_side: int = PREVIEW_MAX_SIDE) -> np.ndarray:
    """The frame with its face boxes drawn, downscaled: the original script's window, headless."""
    image = frame.image
    scale = min(1.0, max_side / max(image.shape[:2]))
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image.copy()
    for face in faces:
        x, y, w, h = (int(round(v * scale)) for v in face.box)
        cv2.rectangle(image, (x, y), (x + w, y + h), BOX_COLOUR, 2)
    return image
