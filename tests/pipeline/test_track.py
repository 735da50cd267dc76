"""Tracking rules on hand-built sightings: what stays one person and what does not."""

from __future__ import annotations

from appliance.detect import Face
from appliance.pipeline.quality import Quality
from appliance.pipeline.track import Sighting, Tracker

QUALITY = Quality(0.5, 0.5, 0.5, 0.5, 0.5)


def sighting(frame: int, x: float, y: float, size: float = 100.0, confidence: float = 0.99) -> Sighting:
    return Sighting(frame, frame * 0.2, Face((x, y, size, size * 1.3), confidence), QUALITY)


def run(tracker: Tracker, frames: list[list[Sighting]]) -> list:
    for sightings in frames:
        tracker.update(sightings, sightings[0].time_s if sightings else 0.0)
    return tracker.close()


def test_someone_crossing_close_to_the_camera_stays_one_track():
    """190 px per analysed frame with a 100 px face (the busy clip's foreground walker at 5 fps)."""
    tracks = run(Tracker(), [[sighting(i, 100 + 190 * i, 700)] for i in range(7)])
    assert len(tracks) == 1 and tracks[0].detections == 7


def test_unsure_sightings_far_apart_are_not_chained():
    """The wide first step is only for a confident face of the same size: not for noise."""
    frames = [[sighting(0, 100, 100, 30, 0.85)], [sighting(1, 160, 100, 30, 0.86)]]
    assert [t.detections for t in run(Tracker(), frames)] == [1, 1]
    different_size = [[sighting(0, 100, 100, 100)], [sighting(1, 290, 100, 150)]]
    assert [t.detections for t in run(Tracker(), different_size)] == [1, 1]


def test_two_people_side_by_side_stay_two_tracks():
    frames = [[sighting(i, 100 + 5 * i, 300), sighting(i, 260 - 5 * i, 300)] for i in range(6)]
    tracks = run(Tracker(), frames)
    assert [t.detections for t in tracks] == [6, 6]
    assert all(abs(t.first.face.box[0] - t.last.face.box[0]) == 25 for t in tracks)
