"""What the pipeline runs on a frame: the detector, plus low-light enhancement and upscaling.

Dark frames (``enhance``) are searched as they are and in enhanced views, and the faces merged
(a dark video frame denoised over time, in one enhanced view: see ``DENOISED_VIEWS``):
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
# A dark video frame denoised with its neighbours (:mod:`appliance.pipeline.denoise`) holds a fraction
# of a single frame's noise, so one search finds its faces: not the plain frame, and of the enhanced
# views (0: edge-preserving, 1: plain blur) only the second; the night check still weighs every view's
# opinion of what it finds. On the tuning night models of the busy clip this finds the people that
# the three searches find, at a third to a half of the time (docs/detection-quality.md, the busy clip at night).
DENOISED_PLAIN_SEARCH = False
DENOISED_VIEWS: tuple[int, ...] = (1,)


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

    def find(self, frame: np.ndarray, denoised: bool = False) -> list[Face]:
        return self.find_batch([frame], denoised)[0]

    def find_batch(self, frames: Sequence[np.ndarray], denoised: bool = False) -> list[list[Face]]:
        """The faces in each of ``frames``; ``denoised``: they were denoised over time (dark video frames)."""
        if self.upscale > 1:
            frames = [
                cv2.resize(f, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR) for f in frames
            ]
        enhanced = [(i, v) for i, frame in enumerate(frames) if (v := views(frame, self.enhance_mode)) is not None]
        plain = list(range(len(frames)))
        if denoised and not DENOISED_PLAIN_SEARCH:
            plain = [i for i in plain if i not in {i for i, _ in enhanced}]
        found: list[list[Face]] = [[] for _ in frames]
        for i, faces in zip(plain, self.detector.detect_batch([frames[i] for i in plain]), strict=True):
            found[i] = faces
        if enhanced:
            with step("enhance"):
                self._night(frames, found, enhanced, DENOISED_VIEWS if denoised else None)
        if self.upscale > 1:
            found = [[f.scaled(1 / self.upscale) for f in faces] for faces in found]
        return found

    def _night(
        self,
        frames: Sequence[np.ndarray],
        found: list[list[Face]],
        enhanced: list[tuple[int, EnhancedViews]],
        searched_views: tuple[int, ...] | None = None,
    ) -> None:
        """Dark frames' enhanced views (those of ``searched_views``, None: all) searched, their faces
        checked and merged into ``found``."""
        self.enhanced_frames += len(enhanced)
        chosen = [
            [view for k, view in enumerate(v.search) if searched_views is None or k in searched_views]
            for _, v in enhanced
        ]
        searched = self.night_search.detect_batch([view for picked in chosen for view in picked])
        start = 0
        for (i, v), picked in zip(enhanced, chosen, strict=True):
            candidates = [face for faces in searched[start : start + len(picked)] for face in faces]
            start += len(picked)
            found[i] = remove_duplicates(found[i] + self.confirmed(candidates, v))

    def confirmed(self, candidates: list[Face], enhanced: EnhancedViews) -> list[Face]:
        """The candidates the night check keeps (all of them for views that need no check)."""
        if not candidates or not enhanced.checked:
            return [face for face in candidates if face.confidence >= self.detector.settings.thresholds[2]]
        rows = night_check.features(self.detector, enhanced.image, enhanced.table, enhanced.search, candidates)
        return [face for face, keep in zip(candidates, self.night_check.keep(rows), strict=True) if keep]
