"""Low-light enhancement: make dark frames something the detector (and a person) can use.

``auto`` measures each frame's luminance and acts only on dark frames. ``stretch`` maps the
frame's 0.5-99.5 percentile luminance range onto the full range with a brightening gamma, after a
light denoise (noise is stretched too); ``clahe`` and ``gamma`` are the plain alternatives, kept for
comparison (see the README's quality table).
"""

from __future__ import annotations

import cv2
import numpy as np

MODES = ("auto", "off", "stretch", "clahe", "gamma")
DARK_LUMA = 60.0  # mean luminance (0-255) below which a frame counts as dark


def luminance(image: np.ndarray) -> float:
    small = cv2.resize(image, (160, max(int(160 * image.shape[0] / image.shape[1]), 1)), interpolation=cv2.INTER_AREA)
    return float(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).mean())


def is_dark(image: np.ndarray) -> bool:
    return luminance(image) < DARK_LUMA


def stretch(image: np.ndarray) -> np.ndarray:
    """Denoise lightly, then stretch the luminance range and brighten mid-tones; colours kept."""
    smooth = cv2.bilateralFilter(image, 5, 25, 5)
    ycrcb = cv2.cvtColor(smooth, cv2.COLOR_BGR2YCrCb)
    y = ycrcb[..., 0].astype(np.float32)
    lo, hi = np.percentile(y, (0.5, 99.5))
    hi = max(hi, lo + 16.0)
    t = np.clip((y - lo) / (hi - lo), 0, 1)
    ycrcb[..., 0] = (255.0 * np.power(t, 0.8)).astype(np.uint8)
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)


def clahe(image: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def gamma(image: np.ndarray, value: float = 0.5) -> np.ndarray:
    table = (255.0 * np.power(np.arange(256) / 255.0, value)).astype(np.uint8)
    return cv2.LUT(image, table)


def enhance(image: np.ndarray, mode: str = "auto") -> np.ndarray | None:
    """The enhanced frame, or None when ``mode`` leaves this frame as it is."""
    if mode == "off":
        return None
    if mode == "auto":
        return stretch(image) if is_dark(image) else None
    return {"stretch": stretch, "clahe": clahe, "gamma": gamma}[mode](image)
