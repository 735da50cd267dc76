"""Deterministic image degradations that imitate CCTV conditions, for evaluation only.

Never applied to real processing. Each takes a BGR uint8 image and a seeded generator; combine
them in order with :func:`apply` ("dark,noise" is a night scene as a cheap camera records it).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import cv2
import numpy as np


def dark(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Night: low gain, a steep gamma that crushes the shadows, and a black level clipping them."""
    x = image.astype(np.float32) / 255.0
    out = 255.0 * (0.40 * np.power(x, 1.6)) - 4.0
    return np.clip(out, 0, 255).astype(np.uint8)


def noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise at high gain (shot + read noise, some of it in colour), then the camera's JPEG."""
    x = image.astype(np.float32)
    sigma = np.sqrt(2.0 * x + 36.0)  # signal-dependent shot noise over a read-noise floor of 6
    grain = rng.standard_normal(x.shape[:2]).astype(np.float32)[..., None]
    colour = rng.standard_normal(x.shape).astype(np.float32)
    out = x + sigma * (0.7 * grain + 0.5 * colour)
    return _jpeg(np.clip(out, 0, 255).astype(np.uint8), 70)


def blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Defocus or motion smear: a Gaussian blur of 1.6 px."""
    return cv2.GaussianBlur(image, (0, 0), 1.6)


def jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A starved encoder: JPEG at quality 15."""
    return _jpeg(image, 15)


def lowres(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A sub-stream: down to 40 % then back up, so faces keep their size but lose their detail."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(int(w * 0.4), 1), max(int(h * 0.4), 1)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"JPEG encoding at quality {quality} failed for a {image.shape} image")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("JPEG decoding failed")
    return decoded


DEGRADATIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "dark": dark,
    "noise": noise,
    "blur": blur,
    "jpeg": jpeg,
    "lowres": lowres,
}


def parse(spec: str | None) -> list[str]:
    names = [n.strip() for n in (spec or "").split(",") if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in DEGRADATIONS]
    if unknown:
        raise ValueError(f"unknown degradation(s) {unknown}; choose from {', '.join(DEGRADATIONS)}")
    return names


def apply(image: np.ndarray, names: list[str], key: str, seed: int = 0) -> np.ndarray:
    """``image`` with the named degradations in order; the same key and seed give the same result."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    for name in names:
        image = DEGRADATIONS[name](image, rng)
    return image
