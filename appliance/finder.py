"""What the pipeline runs on a frame: the detector, plus low-light enhancement and upscaling.

Dark frames (``enhance``) are searched as they are and in enhanced views, and the faces merged:
the enhanced views recover faces lost in the shadows, the original keeps those the enhancement's
amplified noise hides. ``upscale`` > 1 runs the cascade on an enlarged frame so that faces below
MTCNN's 12 px window (down to ``min_face / upscale``) are found.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .detect import Detector, Face
from .detect.boxes import nms
from .enhance import ENHANCED_MIN_CONFIDENCE, MODES, views


class FaceFinder:
    def __init__(self, detector: Detector, enhance_mode: str = "auto", upscale: float = 1.0) -> None:
        if enhance_mode not in MODES:
            raise ValueError(f"enhance must be one of {', '.join(MODES)}")
        if upscale < 1.0:
            raise ValueError("upscale must be >= 1")
        self.detector = detector
        self.enhance_mode = enhance_mode
        self.upscale = upscale
        # the same minimum face in enlarged pixels: faces down to min_face / upscale in the original
        self.enhanced_frames = 0

    @property
    def backend(self) -> str:
        return self.detector.backend

    def find(self, frame: np.ndarray) -> list[Face]:
        return self.find_batch([frame])[0]

    def find_batch(self, frames: Sequence[np.ndarray]) -> list[list[Face]]:
        if self.upscale > 1:
            frames = [cv2.resize(f, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR)
                      for f in frames]  # fmt: skip
        found = self.detector.detect_batch(frames)
        extra = [(i, view) for i, frame in enumerate(frames) for view in views(frame, self.enhance_mode)]
        if extra:
            self.enhanced_frames += len({i for i, _ in extra})
            more = self.detector.detect_batch([view for _, view in extra])
            for (i, _), faces in zip(extra, more, strict=True):
                found[i] = merge(found[i] + [f for f in faces if f.confidence >= ENHANCED_MIN_CONFIDENCE])
        if self.upscale > 1:
            found = [[f.scaled(1 / self.upscale) for f in faces] for faces in found]
        return found


def merge(faces: list[Face], overlap: float = 0.4) -> list[Face]:
    """One face per place: the most confident of overlapping detections."""
    if len(faces) < 2:
        return faces
    keep = nms(np.array([f.xyxy for f in faces]), np.array([f.confidence for f in faces]), overlap, "min")
    return [faces[i] for i in keep]
