#!/usr/bin/env python3
"""Make deterministic "static camera" clips from the real footage, for benchmarks and tests.

Usage: python scripts/make_cctv_sample.py OUT.mp4 [--seconds 300] [--width 1920] [--source VIDEO]
           [--walks 0.2,0.5,0.8] [--stay T:SECONDS] [--lights T] [--codec h264|h265] [--gop FRAMES]
           [--bframes N] [--cbr KBPS] [--repeat N]

The scene is the arcade of facenet_pytorch_video.mp4 with the people removed (per-pixel median of
its frames), held still with sensor noise (a seeded bank of noise fields) and a slow brightness
drift. Events, at fractions of the clip or in seconds:

- ``--walks``: the real 4.2 s walking segment (9 people) inserted at each time (default 20 %, 50 %
  and 80 % of the clip: the 5-minute benchmark sample);
- ``--stay T:S``: the walk inserted at T, then its last frame held (people standing still) for S s;
- ``--lights T``: the scene dark (35 % brightness) until T, then lit;
- ``--busy``: people in view from end to end (the walk played forwards, then backwards, over and
  over): a recording with no still baseline, where a scan that compares GOPs with their neighbours
  sees nothing.

Encoded by ffmpeg with x264 (or x265) at 25 fps; ``--gop``, ``--bframes`` and ``--cbr`` set what a
camera's encoder would. ``--repeat N`` writes the clip N times end to end without re-encoding (each
copy starts with a fresh encoder, as a camera's next file does): an hour of still footage from a
minute. Benchmark and test inputs: write them to an ignored folder (bench-out/) or a test's temporary
folder, never commit them.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "videos" / "facenet_pytorch_video.mp4"
FPS = 25
NOISE_FIELDS = 16
SEED = 20261127
DARK_GAIN = 0.35
DEFAULT_WALKS = (0.2, 0.5, 0.8)


@dataclass
class Scene:
    seconds: float
    walks: list[float] = field(default_factory=lambda: list(DEFAULT_WALKS))  # fractions (< 1) or seconds
    stay: tuple[float, float] | None = None  # (start, seconds held)
    lights_on: float | None = None
    busy: bool = False  # the walk forwards and backwards from end to end, instead of the still arcade

    def at(self, value: float) -> int:
        """A time given as a fraction of the clip (below 1) or in seconds, as a frame number."""
        return int(value * self.seconds * FPS) if value < 1 else int(value * FPS)


@dataclass
class Encoder:
    codec: str = "h264"
    gop: int = 50
    bframes: int | None = None  # None: the encoder's default (x264: 3)
    cbr_kbps: int | None = None

    def args(self) -> list[str]:
        lib = {"h264": "libx264", "h265": "libx265"}[self.codec]
        out = ["-c:v", lib, "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", str(self.gop)]
        if self.bframes is not None:
            out += ["-bf", str(self.bframes)]
        if self.cbr_kbps:
            rate = f"{self.cbr_kbps}k"
            out += ["-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", f"{self.cbr_kbps // 2}k"]
            out += ["-x264-params", "nal-hrd=cbr:force-cfr=1"] if self.codec == "h264" else []
        else:
            out += ["-crf", "23"]
        if self.codec == "h264":
            out += ["-sc_threshold", "0"]  # keyframes at a fixed interval, as cameras do
        else:
            out += ["-x265-params", "log-level=error:scenecut=0"]
        return out


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


def render(scene: Scene, walk: list[np.ndarray]) -> Iterator[np.ndarray]:
    """The scene's frames, in order."""
    background = np.median(np.stack(walk[:: max(len(walk) // 35, 1)]), axis=0).astype(np.uint8)
    rng = np.random.default_rng(SEED)
    noise = [rng.normal(0, 3.0, background.shape).astype(np.float32) for _ in range(NOISE_FIELDS)]
    total = int(scene.seconds * FPS)
    inserts = {scene.at(t): walk for t in scene.walks}
    if scene.stay is not None:
        start, held = scene.stay
        inserts[scene.at(start)] = walk + [walk[-1]] * int(held * FPS)
    lights = scene.at(scene.lights_on) if scene.lights_on is not None else 0
    if scene.busy:  # the walk and its reverse (without repeating the turning frames), end to end
        inserts = {start: walk + walk[-2:0:-1] for start in range(0, total, 2 * len(walk) - 2)}
    index = 0
    while index < total:
        content = inserts.get(index)
        for picture in content[: total - index] if content is not None else [background]:
            gain = 1.0 + 0.06 * np.sin(2 * np.pi * index / (FPS * 90))  # slow daylight drift
            if index < lights:
                gain *= DARK_GAIN
            yield np.clip(picture.astype(np.float32) * gain + noise[index % NOISE_FIELDS], 0, 255).astype(np.uint8)
            index += 1


def make(out: Path, scene: Scene, width: int, source: Path, encoder: Encoder | None = None, repeat: int = 1) -> Path:
    encoder = encoder or Encoder()
    walk = read_frames(source, width)
    height = walk[0].shape[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    target = out if repeat == 1 else Path(tempfile.mkdtemp(dir=out.parent)) / f"one{out.suffix}"
    container = ["-movflags", "+faststart"] if target.suffix in (".mp4", ".mov") else []
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
        *encoder.args(),
        *container,
        str(target),
    ]
    process = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    if process.stdin is None:
        raise RuntimeError("ffmpeg has no input")
    for frame in render(scene, walk):
        process.stdin.write(frame.tobytes())
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit("ffmpeg failed")
    if repeat > 1:
        _repeat(target, out, repeat)
    return out


def _repeat(one: Path, out: Path, times: int) -> None:
    listing = one.with_name("list.txt")
    listing.write_text(f"file '{one.name}'\n" * times)
    cmd = [
        "ffmpeg",
        "-v",
        "error",
        "-y",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(listing),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        str(out),
    ]
    subprocess.run(cmd, check=True)
    one.unlink()
    listing.unlink()
    one.parent.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--walks", default=",".join(map(str, DEFAULT_WALKS)), help="times ('' for none)")
    parser.add_argument("--stay", help="T:SECONDS: a walk at T whose people then stand still")
    parser.add_argument("--lights", type=float, help="dark until this time, then lit")
    parser.add_argument("--busy", action="store_true", help="people in view from end to end")
    parser.add_argument("--codec", choices=["h264", "h265"], default="h264")
    parser.add_argument("--gop", type=int, default=50, help="frames from keyframe to keyframe")
    parser.add_argument("--bframes", type=int)
    parser.add_argument("--cbr", type=int, help="constant bitrate in kbit/s (default: constant quality)")
    parser.add_argument("--repeat", type=int, default=1, help="the clip this many times end to end")
    args = parser.parse_args()
    encoder = Encoder(args.codec, args.gop, args.bframes, args.cbr)
    walks = [float(t) for t in args.walks.split(",") if t.strip()]
    stay = tuple(float(v) for v in args.stay.split(":")) if args.stay else None
    scene = Scene(args.seconds, walks, stay, args.lights, args.busy)  # type: ignore[arg-type]
    make(args.out, scene, args.width, args.source, encoder, args.repeat)
    print(args.out)


if __name__ == "__main__":
    main()
