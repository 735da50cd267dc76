#!/usr/bin/env python3
"""Make a deterministic "static camera" benchmark clip from the real footage.

Usage: python scripts/make_cctv_sample.py OUT.mp4 [--seconds 300] [--width 1920] [--source VIDEO]

The scene is the arcade of facenet_pytorch_video.mp4 with the people removed (per-pixel median of
its frames), held still with sensor noise (a seeded bank of noise fields) and a slow brightness
drift; the real 4.2 s walking segment is inserted three times (at 20 %, 50 % and 80 % of the clip).
Encoded as H.264 (x264, 25 fps) by ffmpeg. A benchmark input: write it to an ignored folder
(bench-out/), never commit it.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "videos" / "facenet_pytorch_video.mp4"
FPS = 25
NOISE_FIELDS = 16
SEED = 20261127


def read_frames(path: Path, width: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if frame.shape[1] != width:
            height = round(frame.shape[0] * width / frame.shape[1] / 2) * 2
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        frames.append(frame)
    cap.release()
    if not frames:
        raise SystemExit(f"{path}: no frames")
    return frames


def make(out: Path, seconds: float, width: int, source: Path) -> None:
    walk = read_frames(source, width)
    background = np.median(np.stack(walk[:: max(len(walk) // 35, 1)]), axis=0).astype(np.uint8)
    height = background.shape[0]
    rng = np.random.default_rng(SEED)
    noise = [rng.normal(0, 3.0, background.shape).astype(np.float32) for _ in range(NOISE_FIELDS)]
    total = int(seconds * FPS)
    starts = {int(total * f) for f in (0.2, 0.5, 0.8)}
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        "ffmpeg",
        "-v",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-s",
        f"{width}x{height}",
        "-r",
        str(FPS),
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "50",
        "-movflags",
        "+faststart",
        str(out),
    ]
    encoder = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert encoder.stdin is not None
    index = 0
    while index < total:
        if index in starts:
            for frame in walk[: total - index]:
                encoder.stdin.write(frame.tobytes())
                index += 1
            continue
        gain = 1.0 + 0.06 * np.sin(2 * np.pi * index / (FPS * 90))  # slow daylight drift
        frame = background.astype(np.float32) * gain + noise[index % NOISE_FIELDS]
        encoder.stdin.write(np.clip(frame, 0, 255).astype(np.uint8).tobytes())
        index += 1
    encoder.stdin.close()
    if encoder.wait() != 0:
        raise SystemExit("ffmpeg failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    make(args.out, args.seconds, args.width, args.source)
    print(args.out)


if __name__ == "__main__":
    main()
