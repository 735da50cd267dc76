"""The ``mtcnn`` package's own ``detect_faces``, called as the original script called it: the baseline."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ..detect import Face
from ..detect.quiet import native_stderr_captured


def reference_finder(min_face: float) -> Callable[[np.ndarray], list[Face]]:
    """A finder over BGR frames (converted to RGB, as the package expects; default thresholds)."""
    with native_stderr_captured():
        from mtcnn import MTCNN

        model = MTCNN()

    def find(image: np.ndarray) -> list[Face]:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        found = model.detect_faces(rgb, min_face_size=int(min_face), output_type="numpy")
        return [Face((float(r[1]), float(r[2]), float(r[3]), float(r[4])), float(r[5])) for r in found]

    return find
