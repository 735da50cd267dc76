"""Blurring the faces that are not the subject's, in one frame.

A face is blurred beyond recognition: its padded box is shrunk to a few pixels across and blown up
again (smooth, with no block edges to read), which keeps the scene readable and no identity. With
``others`` the padding gives way to the subject's own face (two people side by side), but another
person's face itself is blurred even where it overlaps the subject's: privacy comes first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum

import cv2
import numpy as np

from .boxes import Box, FaceAt

BLUR_CELLS = 3  # a blurred face keeps this many cells across: light and shade, no features


class Redact(str, Enum):
    OTHERS = "others"  # every face but the subject's: release to the subject or an investigator
    ALL = "all"  # every face: public release
    NONE = "none"  # nothing blurred: evidence kept whole for those entitled to see it

    def __str__(self) -> str:
        return self.value


def redact_frame(image: np.ndarray, faces: Sequence[FaceAt], subjects: set[int | None], mode: Redact) -> int:
    """Blur in place the faces ``mode`` says to in a BGR picture; returns how many were blurred."""
    return _redact([(image, 1)], image.shape[1], image.shape[0], faces, subjects, mode)


def redact_planes(
    planes: Sequence[np.ndarray], faces: Sequence[FaceAt], subjects: set[int | None], mode: Redact
) -> int:
    """The same on a YUV 4:2:0 picture's three planes (the chroma ones half size), as decoded: no
    conversion to BGR and back for each frame of a clip."""
    luma = planes[0]
    steps = [(plane, 1 if n == 0 else 2) for n, plane in enumerate(planes)]
    return _redact(steps, luma.shape[1], luma.shape[0], faces, subjects, mode)


def _redact(
    planes: Sequence[tuple[np.ndarray, int]],
    width: int,
    height: int,
    faces: Sequence[FaceAt],
    subjects: set[int | None],
    mode: Redact,
) -> int:
    if mode is Redact.NONE or not faces:
        return 0
    hidden = [f for f in faces if mode is Redact.ALL or f.track not in subjects or f.track is None]
    if not hidden:
        return 0
    mask = np.zeros((height, width), dtype=bool)
    for face in hidden:
        _fill(mask, face.padded, True)
    if mode is Redact.OTHERS:
        for face in faces:
            if face not in hidden:
                _fill(mask, face.core, False)
        for face in hidden:
            _fill(mask, face.core, True)
    groups = _groups(hidden, width, height)
    for plane, step in planes:
        below = mask[::step, ::step][: plane.shape[0], : plane.shape[1]]
        original = plane.copy()
        for (x1, y1, x2, y2), face_px in groups:
            a, b, c, d = x1 // step, y1 // step, -(-x2 // step), -(-y2 // step)
            region = below[b:d, a:c]
            if region.any():
                plane[b:d, a:c][region] = blurred(original[b:d, a:c], face_px / step)[region]
    return len(hidden)


def blurred(patch: np.ndarray, face_px: float) -> np.ndarray:
    """``patch`` with nothing left to recognise: cells of a third of a face, smoothed while small (cheap)
    and blown up with a cubic (no creases for the eye or for a sharpness measure to find)."""
    h, w = patch.shape[:2]
    cell = max(face_px / BLUR_CELLS, 2.0)
    small = cv2.resize(patch, (max(int(w / cell), 1), max(int(h / cell), 1)), interpolation=cv2.INTER_AREA)
    if min(small.shape[:2]) >= 3:
        small = cv2.GaussianBlur(small, (3, 3), 0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _groups(faces: Sequence[FaceAt], width: int, height: int) -> list[tuple[tuple[int, int, int, int], float]]:
    """The padded boxes, those that overlap merged into one rectangle (blurred as one patch: two
    patches side by side would leave a sharp seam where they meet), each with its largest face's size."""
    groups = [
        (box, max(f.core[2] - f.core[0], f.core[3] - f.core[1]))
        for f in faces
        for box in _pixels([f.padded], width, height)
    ]
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                (a, fa), (b, fb) = groups[i], groups[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    groups[i] = (union, max(fa, fb))
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    return groups


def _fill(mask: np.ndarray, box: Box, value: bool) -> None:
    for x1, y1, x2, y2 in _pixels([box], mask.shape[1], mask.shape[0]):
        mask[y1:y2, x1:x2] = value


def _pixels(boxes: Iterable[Box], width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Boxes as whole pixels inside the frame (rounded outwards), empty ones left out."""
    found = []
    for x1, y1, x2, y2 in boxes:
        a, b = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
        c, d = min(int(np.ceil(x2)), width), min(int(np.ceil(y2)), height)
        if c > a and d > b:
            found.append((a, b, c, d))
    return found
