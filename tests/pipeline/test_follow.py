"""Following tracked faces, against the slow path it replaces: every analysed frame searched whole.

The fast path can skip work (a new face waits for the next full pass), so it is held to what the
full search finds on footage where people move from start to end: the busy clip at full size, and
a frame's faces found again in their patches.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from appliance.detect.boxes import iou_matrix
from appliance.pipeline import follow
from appliance.pipeline.extract import Extractor, ExtractResult
from appliance.pipeline.finder import FaceFinder
from appliance.pipeline.quality import score
from appliance.pipeline.track import Sighting, Tracker
from appliance.pipeline.video import VideoSource
from appliance.settings import ExtractSettings, MotionSettings, ScanSettings

pytestmark = pytest.mark.slow  # the busy clip at 1080p, twice


def both_ways(clip: Path, out: Path, detector) -> tuple[ExtractResult, ExtractResult]:
    """``clip`` with following (the default) and with every analysed frame searched whole."""
    runs = []
    for every_s in (MotionSettings().busy_full_every_s, 0.0):
        extractor = Extractor(
            ExtractSettings(backend="tflite"),
            detector=detector,
            motion=MotionSettings(busy_full_every_s=every_s),
            scan=ScanSettings(enabled=False),
        )
        runs.append(extractor.run(clip, out / f"every-{every_s}"))
    return runs[0], runs[1]


@pytest.fixture(scope="module")
def busy(videos, tflite_detector, tmp_path_factory) -> tuple[ExtractResult, ExtractResult]:
    return both_ways(videos / "facenet_pytorch_video.mp4", tmp_path_factory.mktemp("follow"), tflite_detector)


@pytest.fixture(scope="module")
def crossing(videos, tflite_detector, tmp_path_factory) -> tuple[ExtractResult, ExtractResult]:
    """The busy clip at half size beside its mirror image: people cross each other, some seen briefly."""
    out = tmp_path_factory.mktemp("crossing")
    clip = out / "crossing.mp4"
    graph = "[0:v]scale=960:540,split[a][b];[b]hflip[f];[a][f]hstack[o]"
    source = str(videos / "facenet_pytorch_video.mp4")
    command = ["ffmpeg", "-v", "error", "-y", "-i", source, "-filter_complex", graph, "-map", "[o]"]
    subprocess.run([*command, "-c:v", "libx264", "-crf", "20", "-an", str(clip)], check=True)
    return both_ways(clip, out, tflite_detector)


def detections(result: ExtractResult) -> int:
    return sum(t.detections for t in result.manifest.tracks)


@pytest.mark.parametrize("clip", ["busy", "crossing"])
def test_following_finds_what_searching_every_frame_finds(clip, request):
    followed, searched = request.getfixturevalue(clip)
    stats = followed.manifest.stats
    assert stats.frames_follow_detection >= stats.frames_analysed // 3  # the fast path did run ...
    every_s = MotionSettings().busy_full_every_s  # ... with a whole search at least this often
    assert stats.frames_full_detection >= followed.manifest.source.duration_s / every_s
    assert searched.manifest.stats.frames_follow_detection == 0
    assert abs(followed.tracks - searched.tracks) <= max(1, 0.1 * searched.tracks)  # ... and lost no one
    assert abs(len(followed.manifest.people) - len(searched.manifest.people)) <= 1
    assert detections(followed) >= 0.9 * detections(searched)
    assert stats.time_ms["detect_follow"] < stats.time_ms["detect_full"]  # the profile says where time went


def test_a_frames_faces_are_found_again_in_their_patches(videos, tflite_detector):
    """Each face of a frame, tracked, is found in its patch of the next analysed frame where it is."""
    frames = list(VideoSource(videos / "facenet_pytorch_video.mp4").frames(5.0))[8:10]
    finder = FaceFinder(tflite_detector)
    tracker = Tracker()
    first, second = (finder.find(frame.image) for frame in frames)
    tracker.update(
        [Sighting(frames[0].index, frames[0].time_s, f, score(f, frames[0].image)) for f in first], frames[0].time_s
    )
    width, height = frames[1].size
    patches = follow.patches_for(tracker.active, frames[1].time_s, width, height)
    regions = [patch.region for patch in patches]
    assert len(regions) == len(first) >= 3
    for x1, y1, x2, y2 in regions:
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height and x2 - x1 == y2 - y1
    patched = follow.find_in_patches(
        FaceFinder(tflite_detector.with_min_face(follow.MIN_FACE_PX)), frames[1].image, patches
    )
    tracked = [
        f
        for f in second
        if any(x1 <= f.box[0] + f.box[2] / 2 < x2 and y1 <= f.box[1] + f.box[3] / 2 < y2 for x1, y1, x2, y2 in regions)
    ]
    overlap = iou_matrix(np.array([f.xyxy for f in tracked]), np.array([f.xyxy for f in patched]))
    assert (overlap.max(axis=1) >= 0.6).mean() >= 0.9, overlap.max(axis=1)  # the same faces, nearly the same boxes


def test_stale_tracks_are_not_followed():
    """A track not seen for longer than MAX_AGE_S has no patch: the next full pass finds it again."""
    from appliance.detect import Face
    from appliance.pipeline.quality import Quality

    face = Face((100.0, 100.0, 40.0, 40.0), 0.99)
    tracker = Tracker()
    tracker.update([Sighting(0, 0.0, face, Quality(0.5, 0.5, 0.5, 0.5, 0.5))], 0.0)
    assert len(follow.patches_for(tracker.active, 0.2, 1920, 1080)) == 1
    assert follow.patches_for(tracker.active, follow.MAX_AGE_S + 0.1, 1920, 1080) == []


def test_a_new_face_waits_for_a_whole_search_of_the_next_frame():
    """A face the last whole search found for the first time is confirmed by a whole search, not followed
    in a patch (where a new face beside a tracked one was taken into the other's track)."""
    from appliance.detect import Face
    from appliance.pipeline.quality import Quality

    quality = Quality(0.5, 0.5, 0.5, 0.5, 0.5)
    tracker = Tracker()
    tracker.update([Sighting(0, 1.0, Face((600.0, 100.0, 40.0, 48.0), 0.99), quality)], 1.0)
    assert all(follow.needs_confirming(t, last_whole_s=1.0) for t in tracker.active)
    assert not any(follow.needs_confirming(t, last_whole_s=1.2) for t in tracker.active)  # found earlier
    tracker.update([Sighting(1, 1.2, Face((604.0, 100.0, 40.0, 48.0), 0.99), quality)], 1.2)
    assert not any(follow.needs_confirming(t, last_whole_s=1.0) for t in tracker.active)  # confirmed


def test_a_new_face_is_looked_back_for_one_step_at_a_time_and_never_in_a_crowd():
    """Looking back takes a face one step earlier only where it is the one alike face close by."""
    from appliance.detect import Face

    face = Face((600.0, 100.0, 40.0, 40.0), 0.99)
    step = Face((580.0, 104.0, 38.0, 38.0), 0.99)  # half a face size away, alike in size
    assert follow.same_face_before(face, [step]) is step
    assert follow.same_face_before(face, [Face((520.0, 100.0, 40.0, 40.0), 0.99)]) is None  # two sizes away
    assert follow.same_face_before(face, [Face((600.0, 100.0, 80.0, 80.0), 0.99)]) is None  # twice the size
    neighbour = Face((620.0, 110.0, 40.0, 40.0), 0.99)
    assert follow.same_face_before(face, [step, neighbour]) is None  # which one? neither
    x1, y1, x2, y2 = follow.look_back_region(face, 1920, 1080, 20.0)
    assert x2 - x1 == y2 - y1 == follow.LOOK_BACK_SPAN * 40 and x1 <= 600 and x2 >= 640


def test_a_sighting_looked_back_for_is_recorded_and_tracking_goes_on_as_before():
    """The earlier sighting gives the track its first time and a detection; the track is still a face found
    once for tracking (its speed unknown, its confirming whole search still due)."""
    from appliance.detect import Face
    from appliance.pipeline.quality import Quality

    quality = Quality(0.5, 0.5, 0.5, 0.5, 0.5)
    tracker = Tracker()
    found = Face((600.0, 100.0, 40.0, 40.0), 0.99)
    tracker.update([Sighting(10, 2.0, found, quality)], 2.0)
    track = tracker.active[0]
    track.seen(10, found)  # as the extractor records each sighting
    track.seen_earlier(Sighting(9, 1.8, Face((590.0, 100.0, 40.0, 40.0), 0.99), quality))
    assert (track.first.time_s, track.last.time_s, track.detections, sorted(track.frames)) == (1.8, 2.0, 2, [9, 10])
    assert track.found_once and track.velocity == (0.0, 0.0)
    assert follow.needs_confirming(track, last_whole_s=2.0)
