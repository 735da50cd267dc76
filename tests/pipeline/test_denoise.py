"""Temporal denoising of dark video frames: neighbours aligned and averaged in, and decoded only where it is dark.

The decoder hands a dark analysed frame the frames just before it, decoding the ones its skipping
would leave out; footage that is not dark decodes exactly the frames it decoded before. The denoiser
aligns each neighbour to the frame (people move between frames) before averaging.
"""

from __future__ import annotations

import subprocess

import cv2
import numpy as np
import pytest

from appliance.evaluation import degrade
from appliance.pipeline.denoise import denoise, luma
from appliance.pipeline.enhance import DARK_LUMA
from appliance.pipeline.video import VideoSource


@pytest.fixture(scope="module")
def night_clip(videos, tmp_path_factory):
    """The busy clip's first 30 frames at 640 px through an IR night model, re-encoded with x264
    (B-frames). Which frames come with neighbours depends on the frames' light and the stream's
    structure, not on their size: the night model runs on a ninth of the pixels of 1080p."""
    folder = tmp_path_factory.mktemp("denoise")
    small = folder / "busy-640.mp4"
    command = ["ffmpeg", "-v", "error", "-y", "-i", str(videos / "facenet_pytorch_video.mp4"), "-frames:v", "30"]
    subprocess.run([*command, "-vf", "scale=640:-2", "-c:v", "libx264", "-crf", "18", "-an", str(small)], check=True)
    return degrade.degrade_video(small, folder / "night.mp4", ["night-c"], frames=30)


def analysed(path, neighbours: int):
    source = VideoSource(path)
    frames = [
        (f.index, f.time_s, [p.time for p in f.neighbours])
        for f in source.frames(5.0, neighbours=neighbours, dark_luma=DARK_LUMA)
    ]
    return frames, source.decoded


def test_footage_that_is_not_dark_decodes_the_same_frames(videos):
    for name in ("facenet_pytorch_video.mp4", "carphone_pristine.mp4"):
        plain, decoded_plain = analysed(videos / name, neighbours=0)
        asked, decoded_asked = analysed(videos / name, neighbours=4)
        assert decoded_asked == decoded_plain, name
        assert asked == plain, name  # the same frames, none handed neighbours


def test_dark_frames_come_with_the_frames_just_before_them(night_clip):
    plain, decoded_plain = analysed(night_clip, neighbours=0)
    asked, decoded_asked = analysed(night_clip, neighbours=4)
    assert [f[:2] for f in asked] == [f[:2] for f in plain]  # the same frames analysed
    assert decoded_asked > decoded_plain  # B-frames skipped before are decoded for them
    assert not asked[0][2]  # the first frame: nothing before it, and not known to be dark yet
    # the second: the frames its decoding had started on before the first was seen to be dark
    assert 1 <= len(asked[1][2]) <= 4
    for index, _, times in asked[2:]:
        assert len(times) == 4, index  # the 4 frames just before it, one frame period apart
        assert np.allclose(np.diff(times), 1 / 25, atol=1e-3), (index, times)


def test_a_moving_scene_is_aligned_before_it_is_averaged(videos):
    """Neighbours: the same picture moved a few pixels each (a person walking), each with its own noise.
    Averaged without aligning, the result would be blurred; aligned, it is closer to the clean picture
    than the noisy frame by about the square root of the frames averaged."""
    capture = cv2.VideoCapture(str(videos / "facenet_pytorch_video.mp4"))
    ok, frame = capture.read()
    assert ok
    clean = (cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA) * 0.25).astype(np.float32)
    rng = np.random.default_rng(0)

    def shot(dx: float, dy: float) -> np.ndarray:
        moved = cv2.warpAffine(clean, np.float32([[1, 0, dx], [0, 1, dy]]), (640, 360), borderMode=cv2.BORDER_REFLECT)
        return np.clip(moved + rng.normal(0, 6, moved.shape), 0, 255).astype(np.uint8)

    noisy = shot(0, 0)
    neighbours = [luma(shot(3 * k, -2 * k)) for k in range(1, 5)]
    out = denoise(noisy, neighbours)
    inner = (slice(20, -20), slice(20, -20))  # away from the borders the shifts uncover
    truth = cv2.cvtColor(clean.astype(np.uint8), cv2.COLOR_BGR2GRAY)[inner].astype(np.float32)

    def error(image: np.ndarray) -> float:
        return float(np.sqrt(np.mean((luma(image)[inner].astype(np.float32) - truth) ** 2)))

    assert error(out) < 0.6 * error(noisy), (error(out), error(noisy))
    unaligned = np.mean([luma(noisy), *neighbours], axis=0)  # averaged as they come: the scene smeared
    assert error(cv2.cvtColor(unaligned.astype(np.uint8), cv2.COLOR_GRAY2BGR)) > error(noisy)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert denoise(noisy, []) is noisy
