"""What the pipeline runs on a frame: the detector, plus low-light enhancement and upscaling.

Dark frames (``enhance``) are searched as they are and in enhanced views, and the faces merged:
the enhanced views recover faces lost in the shadows (each one weighed by the night check, ONet's
opinion across several denoised views: :mod:`appliance.pipeline.night_check`), the original keeps
those the enhancement's amplified noise hides. ``upscale`` > 1 runs the cascade on an enlarged
frame so that faces below MTCNN's 12 px window (down to ``min_face / upscale``) are found.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..common.timing import step
from ..detect import Detector, Face, remove_duplicates
from . import night_check
from .enhance import EnhancedViews, views

# The cascade's stage thresholds on enhanced views: lower than on plain frames (0.6, 0.7, 0.8), so
# that faces dimmed by noise are proposed; the night check, not the cascade, decides what is a face.
NIGHT_SEARCH_THRESHOLDS = (0.5, 0.6, 0.5)


class FaceFinder:
    """The detector on a frame, plus enhanced views of dark frames and optional upscaling.

    ``enhance_mode`` and ``upscale`` come validated from the settings (``ExtractSettings``).
    """

    def __init__(self, detector: Detector, enhance_mode: str = "auto", upscale: float = 1.0) -> None:
        self.detector = detector
        self.enhance_mode = enhance_mode
        self.upscale = upscale
        self.enhanced_frames = 0
        self.night_search = detector.with_thresholds(NIGHT_SEARCH_THRESHOLDS)
        self.night_check = night_check.NightCheck.load()

    @property
    def backend(self) -> str:
        return self.detector.backend

    def find(self, frame: np.ndarray) -> list[Face]:
        return self.find_batch([frame])[0]

    def find_batch(self, frames: Sequence[np.ndarray]) -> list[list[Face]]:
        if self.upscale > 1:
            frames = [
                cv2.resize(f, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR) for f in frames
            ]
        found = self.detector.detect_batch(frames)
        enhanced = [(i, v) for i, frame in enumerate(frames) if (v := views(frame, self.enhance_mode)) is not None]
        if enhanced:
            with step("enhance"):
                self._night(frames, found, enhanced)
        if self.upscale > 1:
            found = [[f.scaled(1 / self.upscale) for f in faces] for faces in found]
        return found

    def _night(
        self, frames: Sequence[np.ndarray], found: list[list[Face]], enhanced: list[tuple[int, EnhancedViews]]
    ) -> None:
        """Dark frames' enhanced views searched, their faces checked and merged into ``found``."""
        self.enhanced_frames += len(enhanced)
        searched = self.night_search.detect_batch([view for _, v in enhanced for view in v.search])
        start = 0
        for i, v in enhanced:
            candidates = [face for faces in searched[start : start + len(v.search)] for face in faces]
            start += len(v.search)
            found[i] = remove_duplicates(found[i] + self.confirmed(candidates, v))

    def confirmed(self, candidates: list[Face], enhanced: EnhancedViews) -> list[Face]:
        """The candidates the night check keeps (all of them for views that need no check)."""
        if not candidates or not enhanced.checked:
            return [face for face in candidates if face.confidence >= self.detector.settings.thresholds[2]]
        rows = night_check.features(self.detector, enhanced.image, enhanced.table, enhanced.search, candidates)
        return [face for face, keep in zip(candidates, self.night_check.keep(rows), strict=True) if keep]
