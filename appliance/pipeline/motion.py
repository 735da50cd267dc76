"""Motion gating: detect faces only where something moves, and only when something moves.

CCTV is mostly a still scene. Each analysed frame is compared, grey and downscaled, with a running
average of the scene; changed pixels are thresholded, dilated and grouped into boxes. A frame with
no motion skips detection; local motion limits detection to the moving regions (with a margin,
overlapping boxes merged); a change over most of the frame (lights, IR switching, camera moved)
recalibrates the background and asks for a full-frame pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .video import Frame

BUCKETS = (96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)  # region sides, so crop shapes repeat
MIN_FACE_PADDING = 1.5  # a moving box grows by at least this many minimum faces on each side
BLUR_KERNEL = (5, 5)
DILATE_ITERATIONS = 2


@dataclass(frozen=True)
class GateTuning:
    width: int = 320  # analysis width of the motion map
    alpha: float = 0.05  # running-average rate of the background
    threshold: int = 18  # grey-level difference that counts as change
    min_area: float = 0.0004  # smallest moving blob, as a fraction of the frame
    global_change: float = 0.45  # changed fraction that means lights/IR/camera, not a person
    margin: float = 0.35  # grow each moving box by this fraction of its size (and min-face based padding)
    full_fraction: float = 0.5  # regions covering more than this of the frame: detect on the full frame


@dataclass
class MotionResult:
    moving: bool
    full_frame: bool  # detect on the whole frame (global change, or motion nearly everywhere)
    regions: list[tuple[int, int, int, int]] = field(default_factory=list)  # x1, y1, x2, y2, frame pixels
    changed_fraction: float = 0.0
    scene_changed: bool = False  # the whole scene changed (lights, IR, camera moved): not people moving


class MotionGate:
    def __init__(self, tuning: GateTuning | None = None, min_face: float = 20.0) -> None:
        self.settings = tuning or GateTuning()
        self.min_face = min_face
        self._background: np.ndarray | None = None
        self._scale = 1.0
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))

    def _small(self, frame: np.ndarray | Frame) -> np.ndarray:
        """The frame grey at the analysis width, blurred; from a decoded frame FFmpeg scales it directly."""
        width, height = frame.size if isinstance(frame, Frame) else (frame.shape[1], frame.shape[0])
        self._scale = min(1.0, self.settings.width / width)
        size = (max(int(width * self._scale), 1), max(int(height * self._scale), 1))
        if isinstance(frame, Frame):
            grey = frame.grey(size[0])
        else:
            grey = cv2.cvtColor(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        return cv2.GaussianBlur(grey, BLUR_KERNEL, 0).astype(np.float32)

    def update(self, frame: np.ndarray | Frame) -> MotionResult:
        s = self.settings
        small = self._small(frame)
        if self._background is None or self._background.shape != small.shape:
            self._background = small
            return MotionResult(True, True, changed_fraction=1.0, scene_changed=True)
        diff = cv2.absdiff(small, self._background)
        changed_mask = (diff > s.threshold).astype(np.uint8)
        changed = float(changed_mask.mean())
        if changed > s.global_change:
            self._background = small  # recalibrate: the whole scene changed
            return MotionResult(True, True, changed_fraction=changed, scene_changed=True)
        cv2.accumulateWeighted(small, self._background, s.alpha)
        mask = cv2.dilate(changed_mask, self._kernel, iterations=DILATE_ITERATIONS)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_pixels = s.min_area * mask.size
        boxes = [(x, y, x + w, y + h) for x, y, w, h, area in stats[1:count] if area >= min_pixels]
        if not boxes:
            return MotionResult(False, False, changed_fraction=changed)
        width, height = frame.size if isinstance(frame, Frame) else (frame.shape[1], frame.shape[0])
        regions = merge_boxes([self._to_frame(b, width, height) for b in boxes])
        regions = merge_boxes([bucket_region(*r, width, height) for r in regions])
        covered = sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in regions) / float(width * height)
        if covered > s.full_fraction:
            return MotionResult(True, True, changed_fraction=changed)
        return MotionResult(True, False, regions, changed)

    def _to_frame(self, box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
        """A motion-map box in frame pixels, grown by the margin and to a bucket size."""
        x1, y1, x2, y2 = (v / self._scale for v in box)
        pad = max(self.settings.margin * max(x2 - x1, y2 - y1), MIN_FACE_PADDING * self.min_face)
        return bucket_region(x1 - pad, y1 - pad, x2 + pad, y2 + pad, width, height)


def bucket_region(x1: float, y1: float, x2: float, y2: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Grow a box around its centre to the next bucket side on each axis, shifted to stay in the frame."""

    def axis(lo: float, hi: float, limit: int) -> tuple[int, int]:
        side = next((b for b in BUCKETS if b >= hi - lo), limit)
        side = min(side, limit)
        centre = (lo + hi) / 2
        start = int(round(min(max(centre - side / 2, 0), limit - side)))
        return start, start + side

    ax1, ax2 = axis(x1, x2, width)
    ay1, ay2 = axis(y1, y2, height)
    return ax1, ay1, ax2, ay2


def merge_boxes(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Union overlapping boxes until none overlap (a face on a seam would be cut in two otherwise)."""
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        out: list[tuple[int, int, int, int]] = []
        for box in merged:
            for i, other in enumerate(out):
                if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                    out[i] = (
                        min(box[0], other[0]),
                        min(box[1], other[1]),
                        max(box[2], other[2]),
                        max(box[3], other[3]),
                    )
                    changed = True
                    break
            else:
                out.append(box)
        merged = out
    return merged
