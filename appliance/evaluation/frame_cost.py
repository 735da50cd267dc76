"""What one full-frame search costs on real 1080p footage, one thread: the figure detectors are
compared by besides recall and precision (a full search of every analysed frame is the appliance's
slow path). Timings are medians; compare only figures measured in one run, interleaved."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

BUSY_CLIP = Path(__file__).resolve().parents[3] / "shared" / "data" / "videos" / "facenet_pytorch_video.mp4"


def frames_of(video: Path, count: int = 3, every: int = 30) -> list[np.ndarray]:
    """``count`` BGR frames of ``video``, ``every`` frames apart from the first."""
    capture = cv2.VideoCapture(str(video))
    frames: list[np.ndarray] = []
    index = 0
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if index % every == 0:
            frames.append(frame)
        index += 1
    capture.release()
    if not frames:
        raise FileNotFoundError(f"no frames could be read from {video}")
    return frames


def ms_per_frame(
    finders: dict[str, Callable[[np.ndarray], list]], frames: Sequence[np.ndarray], repeats: int = 5
) -> dict[str, float]:
    """Median milliseconds per frame of each finder, run in turn frame by frame (interleaved, so a
    busy neighbour slows them all alike) after one warm-up pass."""
    for find in finders.values():
        find(frames[0])
    times: dict[str, list[float]] = {name: [] for name in finders}
    for _ in range(repeats):
        for frame in frames:
            for name, find in finders.items():
                started = time.perf_counter()
                find(frame)
                times[name].append((time.perf_counter() - started) * 1000)
    return {name: round(statistics.median(values), 1) for name, values in times.items()}
