"""Frames no other frame refers to and no analysis takes are not decoded: held to decoding every frame.

Skipping is decided per packet before decoding, from the packet's time alone (analysed frames are the
first at or after each point of a fixed grid), so the frames analysed must be exactly those that
decoding everything gives, pixels included, on footage with B-frames, at 25 and 29.97 fps, at a variable
frame rate (frames dropped in runs, as cameras do when their encoder falls behind), in H.264 and H.265,
in whole files, in active stretches of a scan plan and in a part's window.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest

from appliance.pipeline.video import DecodePlan, VideoSource, Window

ENCODINGS = {
    "h264-bframes-29.97": ["-c:v", "libx264", "-bf", "3", "-r", "30000/1001", "-g", "30"],
    "h265-25": ["-c:v", "libx265", "-x265-params", "log-level=error:bframes=4", "-r", "25", "-g", "25"],
    # 7 of every 20 frames dropped, the timestamps kept: gaps of 8 frame periods between runs of frames
    "h264-variable-rate": [
        *("-vf", "select='not(between(mod(n\\,20)\\,2\\,8))',scale=640:-2", "-fps_mode", "passthrough"),
        *("-c:v", "libx264", "-bf", "3", "-x264-params", "b-adapt=0", "-g", "30"),
    ],
}


@pytest.fixture(scope="module")
def clips(videos, tmp_path_factory) -> dict[str, Path]:
    """The busy facenet clip as it is, and re-encoded at 640 px the ways above."""
    folder = tmp_path_factory.mktemp("skip")
    out = {"facenet": videos / "facenet_pytorch_video.mp4", "hamilton": videos / "short_hamilton_clip.mp4"}
    for name, args in ENCODINGS.items():
        path = folder / f"{name}.mp4"
        source = str(videos / "facenet_pytorch_video.mp4")
        scale = ["-vf", "scale=640:-2"] if "-vf" not in args else []  # a case with a filter scales in it
        command = ["ffmpeg", "-v", "error", "-y", "-i", source, *scale, *args, "-an", str(path)]
        subprocess.run(command, check=True)
        out[name] = path
    return out


def analysed(path: Path, skip: bool, rate: float | None = 5.0, **kwargs) -> tuple[list[tuple[int, float, str]], int]:
    """(index, time, a digest of the pixels) of each analysed frame, and how many frames were decoded."""
    source = VideoSource(path)
    frames = [
        (f.index, round(f.time_s, 4), hashlib.sha256(np.ascontiguousarray(f.image).tobytes()).hexdigest())
        for f in source.frames(rate, skip_unused=skip, **kwargs)
    ]
    return frames, source.decoded


@pytest.mark.parametrize("name", ["facenet", "hamilton", *ENCODINGS])
def test_skipping_analyses_the_frames_decoding_everything_analyses(clips, name):
    fast, decoded_fast = analysed(clips[name], skip=True)
    slow, decoded_slow = analysed(clips[name], skip=False)
    assert fast == slow
    if name != "hamilton":  # no B-frames there: nothing to skip
        assert decoded_fast < 0.8 * decoded_slow


def test_every_frame_is_analysed_when_asked_for(clips):
    """``fps all`` (no rate): nothing is skipped, every frame comes out."""
    frames, decoded = analysed(clips["facenet"], skip=True, rate=None)
    assert len(frames) == decoded == 105


def test_skipping_holds_in_active_stretches_and_windows(clips):
    path = clips["h264-bframes-29.97"]
    plan = DecodePlan(((0.0, 1.0), (2.0, 3.2)), keyframe_every_s=8.0)
    assert analysed(path, True, plan=plan)[0] == analysed(path, False, plan=plan)[0]
    window = Window(1.001, 3.003)  # keyframes every 30 frames at 29.97 fps
    assert analysed(path, True, window=window)[0] == analysed(path, False, window=window)[0]
