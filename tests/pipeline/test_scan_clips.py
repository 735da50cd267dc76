"""The activity scan on generated still-camera clips: the same people as decoding every frame, for less.

Each clip is the arcade held still, with the real walking segment (9 people) inserted, encoded as a
camera might: with and without B-frames, at a constant bitrate, in H.265, with a 10 s GOP; plus
people who walk in and stand still for a minute, and lights switching on over people standing in the
dark. Each is processed with the scan on and off.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from appliance.pipeline.extract import Extractor, ExtractResult
from appliance.pipeline.scan import scan
from appliance.pipeline.video import VideoSource
from appliance.settings import ExtractSettings, MotionSettings, ScanSettings
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import make_cctv_sample as maker  # noqa: E402

pytestmark = pytest.mark.slow  # makes clips and runs each twice
WIDTH = 640

# (scene, encoder, the signal the scan should use)
CASES = {
    "a-bframes": (maker.Scene(40, [15]), maker.Encoder(gop=25), "bytes"),
    "b-no-bframes": (maker.Scene(40, [15]), maker.Encoder(gop=25, bframes=0), "bytes"),
    "c-constant-bitrate": (maker.Scene(40, [15]), maker.Encoder(gop=25, cbr_kbps=600), "qp"),
    "d-h265": (maker.Scene(40, [15]), maker.Encoder(codec="h265", gop=25), "bytes"),
    "e-gop-10s": (maker.Scene(120, [55]), maker.Encoder(gop=250), "bytes"),
    "f-walk-in-and-stay": (maker.Scene(80, [], stay=(10, 60)), maker.Encoder(gop=25), "bytes"),
    "g-lights-on": (maker.Scene(45, [], stay=(6, 30), lights_on=20), maker.Encoder(gop=25), "bytes"),
}


# people in view from end to end (the walk forwards and backwards), encoded the same ways: no GOP is
# quieter than another, so every relative rule sees a still scene; the scan must still decode them
BUSY_SECONDS = 14
BUSY_CASES = {
    "busy-bframes": maker.Encoder(gop=25),
    "busy-no-bframes": maker.Encoder(gop=25, bframes=0),
    "busy-constant-bitrate": maker.Encoder(gop=25, cbr_kbps=600),
    "busy-h265": maker.Encoder(codec="h265", gop=25),
}


def run_both(clip: Path, folder: Path, detector) -> tuple[ExtractResult, ExtractResult]:
    """``clip`` processed with the scan on, then off. Each analysed frame is searched whole (no
    following: that fast path is held to its own slow path in test_follow.py), so what differs is the scan."""
    on, off = (
        Extractor(
            ExtractSettings(backend="tflite"),
            detector=detector,
            motion=MotionSettings(busy_full_every_s=0),
            scan=ScanSettings(enabled=enabled),
        )
        for enabled in (True, False)
    )
    return on.run(clip, folder / "on"), off.run(clip, folder / "off")


@pytest.fixture(scope="module")
def walk(videos) -> list[np.ndarray]:
    """The walking segment at the clips' width, read once for every clip made here."""
    return maker.read_frames(videos / "facenet_pytorch_video.mp4", WIDTH)


def make_each(folder: Path, scene: maker.Scene, walk: list[np.ndarray], encoders: dict[str, maker.Encoder]):
    """``scene`` rendered once and encoded each way by one ffmpeg, one output per encoder, with the
    arguments ``maker.make`` gives it: the clips ``maker.make`` writes (the render is seeded), for one
    render instead of one per encoder. {name: clip}"""
    height, width = walk[0].shape[:2]
    command = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}"]
    command += ["-r", str(maker.FPS), "-i", "-"]
    clips = {name: folder / f"{name}.mp4" for name in encoders}
    for name, encoder in encoders.items():
        command += [*encoder.args(), "-movflags", "+faststart", str(clips[name])]
    process = subprocess.Popen(command, stdin=subprocess.PIPE)
    assert process.stdin is not None
    for frame in maker.render(scene, walk):
        process.stdin.write(frame.tobytes())
    process.stdin.close()
    assert process.wait() == 0, "ffmpeg failed"
    return clips


@pytest.fixture(scope="module")
def runs(tmp_path_factory, walk, tflite_detector):
    """Each clip made once (the cases of one scene from one render), processed with the scan on and
    off: {case: (scan on, scan off, clip)}."""
    folder = tmp_path_factory.mktemp("scan-clips")
    scenes: dict[str, tuple[maker.Scene, dict[str, maker.Encoder]]] = {}  # by the scene's repr: equal scenes
    for name, (scene, encoder, _) in CASES.items():
        scenes.setdefault(repr(scene), (scene, {}))[1][name] = encoder
    out: dict[str, tuple[ExtractResult, ExtractResult, Path]] = {}
    for scene, encoders in scenes.values():
        for name, clip in make_each(folder, scene, walk, encoders).items():
            out[name] = (*run_both(clip, folder, tflite_detector), clip)
    return out


@pytest.fixture(scope="module")
def busy_runs(tmp_path_factory, walk, tflite_detector):
    """Each busy clip made once (one render, encoded four ways), processed with the scan on and off:
    {case: (scan on, scan off)}."""
    folder = tmp_path_factory.mktemp("busy-clips")
    scene = maker.Scene(BUSY_SECONDS, [], busy=True)
    clips = make_each(folder, scene, walk, BUSY_CASES)
    return {name: run_both(clip, folder, tflite_detector) for name, clip in clips.items()}


def people(result: ExtractResult) -> list[tuple[float, int]]:
    """(first seen, detections) of each track, in order."""
    return sorted((t.first_s, t.detections) for t in result.manifest.tracks)


@pytest.mark.parametrize("case", list(CASES))
def test_the_scan_finds_the_same_people_decoding_less(runs, case):
    on, off, _ = runs[case]
    scan = on.manifest.stats.scan
    assert scan is not None and scan.mode == "scan", scan
    assert scan.signal == CASES[case][2]
    assert on.tracks == off.tracks >= 6, (people(on), people(off))
    for (first_on, _), (first_off, _) in zip(people(on), people(off), strict=True):
        assert abs(first_on - first_off) <= 3.0  # lights: the dark ones show up when the light comes on
    # with 10 s GOPs a GOP flagged by the clip's brightness drift costs 30 s of decoding (it and its margins)
    most = 0.75 if case == "e-gop-10s" else 0.5
    assert on.manifest.stats.frames_decoded < most * off.manifest.stats.frames_decoded


def test_people_standing_still_need_no_new_detection(runs):
    """f: a minute of people standing where the scan sees nothing: keyframes checked, no detection there."""
    on, off, _ = runs["f-walk-in-and-stay"]
    stats_on, stats_off = on.manifest.stats, off.manifest.stats
    assert stats_on.scan.keyframes_checked >= 10
    assert stats_on.frames_full_detection + stats_on.frames_region_detection < 0.75 * (
        stats_off.frames_full_detection + stats_off.frames_region_detection
    )
    stayed = [t for t in on.manifest.tracks if t.last_s >= 70]
    assert len(stayed) >= 4  # the people who stood are still their first tracks at the end


def test_lights_switching_on_are_decoded(runs):
    """g: the people stand still in the dark; the light coming on at 20 s moves the bytes: decoded there."""
    _, _, clip = runs["g-lights-on"]
    found = scan(VideoSource(clip), keyframe_every_s=4.0)
    assert found.plan is not None
    assert found.plan.is_active(20.0) and not found.plan.is_active(30.0)


@pytest.mark.parametrize("case", list(BUSY_CASES))
def test_a_recording_busy_from_end_to_end_is_never_judged_still(busy_runs, case):
    """No still stretch to compare with: the scan decodes everything (by the bytes' busy share, or
    because decoded keyframes differ where the signal saw nothing) and finds what decoding finds."""
    on, off = busy_runs[case]
    found = on.manifest.stats.scan
    assert found is not None and found.mode == "decode-all", found
    assert found.gops >= 6  # long enough to be judged, not "too short"
    assert abs(on.tracks - off.tracks) <= 0.1 * off.tracks, (people(on), people(off))
    assert len(on.manifest.people) == len(off.manifest.people) >= 6
    detections = sum(t.detections for t in on.manifest.tracks)
    assert detections >= 0.9 * sum(t.detections for t in off.manifest.tracks)


def test_a_busy_stretch_at_constant_bitrate_is_active_end_to_end(tmp_path, videos):
    """Forty seconds of people walking in a constant-bitrate recording: the busy GOPs are their own
    neighbours' baseline, so only the stretch's edges rose above it; the file's still level sees all of it."""
    walks = [30 + 4.2 * k for k in range(10)]  # the walk back to back, 30 s to 72 s
    clip = maker.make(
        tmp_path / "cbr-busy-stretch.mp4",
        maker.Scene(100, walks),
        WIDTH,
        videos / "facenet_pytorch_video.mp4",
        maker.Encoder(gop=25, cbr_kbps=600),
    )
    found = scan(VideoSource(clip), keyframe_every_s=8.0)
    assert found.plan is not None and found.signal == "qp"
    assert all(found.plan.is_active(t) for t in range(30, 72)), found.plan.active
    assert not found.plan.is_active(5.0) and not found.plan.is_active(90.0)


def test_still_checks_are_made_in_mpeg_ts_too(runs, tmp_path):
    """A transport stream has no index: a seek may land after the keyframe wanted. The checks read on
    from an earlier seek, and a plan whose checks could not be made is not trusted."""
    _, _, clip = runs["a-bframes"]
    stream = tmp_path / "a-bframes.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-c", "copy", str(stream)], check=True)
    in_mp4, in_ts = scan(VideoSource(clip), 8.0), scan(VideoSource(stream), 8.0)
    assert in_ts.mode == in_mp4.mode == "scan"
    assert in_ts.still_checks >= 3 and in_ts.still_checks >= in_mp4.still_checks - 1
