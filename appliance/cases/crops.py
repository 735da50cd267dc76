"""The case's photo of each appearance, redacted as its clip is.

The outbox crop is cut from the clean frame: with ``all`` it is the subject's sharp face, with
``others`` its margin can hold a stranger's face. So the case's crop is cut again, with the same
margin, from the clip's frame of the best shot after that frame was redacted; where no clip could be
cut (footage gone) the outbox crop is blurred instead: all of it with ``all``, all but the subject's
own face box with ``others``. With ``none`` the outbox crop is taken as it is.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..output.manifest import BestShot
from .redact import Redact, blurred

Frame = tuple[int, int, int, int]


def margin_box(best: BestShot, width: int, height: int, margin: float) -> Frame:
    """Where the pipeline cut the crop: the box grown by ``margin`` of its size, clamped (as
    ``pipeline.crops.margin_box``)."""
    x, y, w, h = best.box
    x1, y1 = int(max(np.floor(x - w * margin), 0)), int(max(np.floor(y - h * margin), 0))
    x2, y2 = int(min(np.ceil(x + w + w * margin), width)), int(min(np.ceil(y + h + h * margin), height))
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def cut(frame_bgr: np.ndarray, best: BestShot, margin: float) -> np.ndarray:
    """The crop of ``best`` from an (already redacted) frame."""
    x1, y1, x2, y2 = margin_box(best, frame_bgr.shape[1], frame_bgr.shape[0], margin)
    return frame_bgr[y1:y2, x1:x2].copy()


def blur_outbox_crop(crop: np.ndarray, best: BestShot, origin: Frame, mode: Redact) -> np.ndarray:
    """The outbox crop (cut at ``origin`` of the frame) with what ``mode`` hides blurred."""
    if mode is Redact.NONE:
        return crop
    face_px = max(best.box[2], best.box[3])
    hidden = blurred(crop, face_px)
    if mode is Redact.OTHERS:
        x, y, w, h = best.box
        a, b = max(int(x) - origin[0], 0), max(int(y) - origin[1], 0)
        c, d = int(np.ceil(x + w)) - origin[0], int(np.ceil(y + h)) - origin[1]
        hidden[b:d, a:c] = crop[b:d, a:c]
    return hidden


def write_jpeg(image: np.ndarray, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(target), image, [cv2.IMWRITE_JPEG_QUALITY, 92]):
        raise OSError(f"{target.name}: the crop could not be written")
