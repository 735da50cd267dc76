"""Search over the people index: the matrix kept between searches follows every change to the index."""

from __future__ import annotations

import numpy as np

from appliance.people.index import NewTrack, PeopleIndex


def track(axis: int) -> NewTrack:
    return NewTrack(1, 1, 0.0, 1.0, 0.5, f"r{axis}/tracks/track-0001.jpg", 0.5, np.eye(128, dtype=np.float32)[axis])


def test_a_search_sees_the_tracks_added_and_forgotten_since_the_last_one(tmp_path):
    index = PeopleIndex(tmp_path / "people.sqlite", threshold=0.38)
    assert index.search(np.eye(128)[1]) == []
    index.add_recording("r0", "r0.mp4", [track(0)])
    assert [m.face["recording"] for m in index.search(np.eye(128)[1])] == ["r0"]  # the only track, unlike it
    index.add_recording("r1", "r1.mp4", [track(1)])
    best = index.search(np.eye(128)[1])[0]
    assert (best.face["recording"], best.similarity) == ("r1", 1.0)
    index.forget_recording("r1")
    assert [m.face["recording"] for m in index.search(np.eye(128)[1])] == ["r0"]
