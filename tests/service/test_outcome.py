"""The events a finished recording causes: ``recording.done`` always, ``person.seen`` as ``person_events`` asks."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.events.model import EventType
from appliance.people.index import Seen
from appliance.service.jobs import Job
from appliance.service.outcome import done_events
from appliance.service.queue.sqlite import SqliteJobStore
from appliance.settings import load
from tests.samples import sample_manifest

# the recording's people 1-4 as the box knows them (its person 11-14); person 5 was not indexed
SEEN = {
    1: Seen(11, new=True),
    2: Seen(12, new=False, name="Ana", watched=True),
    3: Seen(13, new=False, name="Bo"),
    4: Seen(14, new=True, watched=True),
}


@pytest.fixture
def job(tmp_path) -> Job:
    store = SqliteJobStore(tmp_path / "jobs.sqlite")
    return store.add("walk.mp4", str(tmp_path / "walk.mp4"), "a" * 64, 100)


def five_people():
    manifest = sample_manifest()
    person = manifest.people[0]
    people = [person.model_copy(update={"id": n}) for n in range(1, 6)]
    return manifest.model_copy(update={"people": people})


@pytest.mark.parametrize(
    ("setting", "told"),
    [("all", [11, 12, 13, 14]), ("new", [11, 14]), ("watched", [12, 14]), ("off", [])],
)
def test_person_events_tells_only_the_people_asked_for(job, setting, told):
    events = load(flags={"person_events": setting}, environ={}).events
    found = done_events(job, Path("out/walk"), five_people(), SEEN, events)
    assert found[0].type is EventType.RECORDING_DONE and found[0].data["people"] == 5
    seen = [e for e in found[1:] if e.type is EventType.PERSON_SEEN]
    assert len(seen) == len(found) - 1
    assert [e.data["person"] for e in seen] == told
    for event in seen:
        who = next(s for s in SEEN.values() if s.person == event.data["person"])
        assert (event.data["new"], event.data["watched"], event.data["name"]) == (who.new, who.watched, who.name)
        assert event.data["face"] == "/files/walk/faces/person-0001.jpg"
