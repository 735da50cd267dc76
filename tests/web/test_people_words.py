"""The people API's keys in the glossary's words (docs/architecture.md), beside the older ``faces`` keys
that clients already read: both say the same."""

from __future__ import annotations

import numpy as np

from appliance.people.index import NewTrack, PeopleIndex
from appliance.web import create_app
from tests.web.conftest import settings_for


def test_tracks_beside_faces_in_the_people_api(populated):
    index = PeopleIndex(populated.data / "state" / "people.sqlite", threshold=0.38)
    embedding = np.eye(128, dtype=np.float32)[0]
    for recording in ("walk", "walk-2"):  # one person, seen in two recordings: two tracks
        index.add_recording(
            recording, "walk.mp4", [NewTrack(1, 1, 0.0, 1.0, 0.4, "walk/tracks/track-0001.jpg", 0.8, embedding)]
        )
    client = create_app(settings_for(populated.data), populated.store).test_client()
    listed = client.get("/api/people").get_json()
    assert (listed["tracks"], listed["faces"]) == (2, 2)
    assert [(p["tracks"], p["faces"]) for p in listed["people"]] == [(2, 2)]
    person = listed["people"][0]["id"]
    detail = client.get(f"/api/people/{person}").get_json()
    assert (detail["tracks"], len(detail["appearances"])) == (2, 2)
