"""Deterministic image degradations that imitate CCTV conditions, for evaluation only.

Never applied to real processing. Each takes a BGR uint8 image and a seeded generator; combine
them in order with :func:`apply` ("dark,noise" is a night scene as a cheap camera records it).

The night family (``night-a`` ... ``night-f``) is several cameras' worth of darkness, so that a rule
for night footage is chosen on more than one camera's: sensor gains and gamma curves, shot, read and
banded noise at several strengths, colour and IR-lit grey, exposure blur and a starved encoder.
``night-a`` is "dark,noise" itself. Rules are chosen on :data:`NIGHT_TUNING` and confirmed on
:data:`NIGHT_HELD_OUT`, fixed here before any of them was measured.
"""

from __future__ import annotations

import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..common.atomic import atomic_output


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


@dataclass(frozen=True)
class NightModel:
    """One camera at night: ``255 * gain * x**gamma - black``, exposure blur, then noise of standard
    deviation ``sqrt(shot * signal + read**2)`` (part shared by the channels, ``colour`` of it per
    channel), row banding, and the camera's JPEG. ``grey``: an IR-lit camera's monochrome picture."""

    gain: float
    gamma: float
    black: float
    shot: float
    read: float
    colour: float
    quality: int
    grey: bool = False
    banding: float = 0.0
    blur_px: int = 0

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.grey:
            image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        x = image.astype(np.float32) / 255.0
        out = 255.0 * self.gain * np.power(x, self.gamma) - self.black
        out = np.clip(out, 0, 255)
        if self.blur_px > 1:  # a long exposure: horizontal motion smear
            kernel = np.full((1, self.blur_px), 1.0 / self.blur_px, np.float32)
            out = cv2.filter2D(out, -1, kernel)
        sigma = np.sqrt(self.shot * out + self.read**2)
        h, w = out.shape[:2]
        grain = rng.standard_normal((h, w)).astype(np.float32)[..., None]
        noisy = out + sigma * (np.sqrt(max(1.0 - self.colour**2, 0.0)) * grain)
        if self.colour > 0 and not self.grey:
            noisy += sigma * self.colour * rng.standard_normal(out.shape).astype(np.float32)
        if self.banding > 0:
            noisy += self.banding * rng.standard_normal((h, 1, 1)).astype(np.float32)
        return _jpeg(np.clip(noisy, 0, 255).astype(np.uint8), self.quality)


NIGHT_MODELS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "night-a": lambda image, rng: noise(dark(image, rng), rng),  # the original night: "dark,noise"
    # colour, deeper darkness and more read noise, a lower-quality encoder
    "night-b": NightModel(gain=0.25, gamma=2.0, black=2, shot=1.5, read=8, colour=0.6, quality=50),
    # IR-lit grey: flatter curve, banded read-out
    "night-c": NightModel(gain=0.45, gamma=1.4, black=6, shot=3, read=5, colour=0, quality=60, grey=True, banding=3),
    # colour, long exposure (motion smear), steep curve, starved encoder
    "night-d": NightModel(gain=0.5, gamma=2.2, black=3, shot=2, read=4, colour=0.4, quality=40, blur_px=5),
    # IR-lit grey in weak light
    "night-e": NightModel(gain=0.2, gamma=1.8, black=2, shot=1, read=7, colour=0, quality=45, grey=True, banding=2),
    # colour, mostly Gaussian (read) noise, heavy compression
    "night-f": NightModel(gain=0.3, gamma=1.5, black=5, shot=0, read=12, colour=0.3, quality=30),
}
NIGHT_TUNING = ("night-a", "night-b", "night-c", "night-d")
NIGHT_HELD_OUT = ("night-e", "night-f")

DEGRADATIONS: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "dark": dark,
    "noise": noise,
    "blur": blur,
    "jpeg": jpeg,
    "lowres": lowres,
    **NIGHT_MODELS,
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


def degrade_video(source: Path, target: Path, names: list[str], seed: int = 0, frames: int | None = None) -> Path:
    """``source`` with the named degradations on every frame (seeded by the frame's number), encoded
    with x264 as a camera would (CRF 23); only its first ``frames`` frames if given. Written under a
    hidden name and renamed, so that an inbox sees it whole."""
    capture = cv2.VideoCapture(str(source))
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}"]
    cmd += ["-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
    with atomic_output(target, suffix=".mp4") as writing:
        encoder = subprocess.Popen([*cmd, str(writing)], stdin=subprocess.PIPE)
        assert encoder.stdin is not None
        index = 0
        while frames is None or index < frames:
            ok, frame = capture.read()
            if not ok:
                break
            encoder.stdin.write(apply(frame, names, f"frame-{index}", seed).tobytes())
            index += 1
        encoder.stdin.close()
        if encoder.wait() != 0:
            raise RuntimeError(f"ffmpeg could not encode {target.name}")
    return target
