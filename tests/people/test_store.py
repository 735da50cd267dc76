"""The people index's storage: an index made by an earlier version opens with what it holds."""

from __future__ import annotations

import sqlite3

import numpy as np

from appliance.people.index import PeopleIndex
from appliance.people.store import SCHEMA, blob

FIRST_PEOPLE = (  # the people table before the watch list, hiding and the chosen photo
    "CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, created REAL NOT NULL, "
    "updated REAL NOT NULL);"
)


def test_an_index_made_before_the_watch_list_and_hiding_opens_with_its_people(tmp_path):
    path = tmp_path / "people.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_PEOPLE + SCHEMA.split(";", 1)[1])  # the rest of the schema as it is
        db.execute("INSERT INTO people (id, name, created, updated) VALUES (1, 'Alice', 0, 0)")
        for track in (1, 2):
            db.execute(
                "INSERT INTO faces (person, recording, title, track, local_person, first_s, last_s, time_s, crop, "
                "quality, embedding, added) VALUES (1, 'a', 'a.mp4', ?, 1, 0, 1, 0.5, 'a/tracks/t.jpg', ?, ?, 0)",
                (track, 0.5 * track, blob(np.eye(128, dtype=np.float32)[0])),
            )
    index = PeopleIndex(path, threshold=0.38)
    [alice] = index.people()
    assert (alice["name"], alice["faces"], alice["watched"], alice["hidden"]) == ("Alice", 2, 0, 0)
    assert alice["best"]["quality"] == 1.0 and "chosen" not in alice["best"]
    first = index.person(1)["faces"][0]["id"]
    assert index.watch(1, True) and index.choose_photo(1, first) and index.hide(1, True)
    assert index.people() == [] and index.people(hidden=True)[0]["best"]["face"] == first
