"""The people index: recordings matched to known people, corrections that survive re-grouping, forgetting."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.people.cluster import average_linkage
from appliance.people.index import NewFace, PeopleIndex

RNG = np.random.default_rng(7)
IDENTITIES = RNG.normal(size=(6, 128))
IDENTITIES /= np.linalg.norm(IDENTITIES, axis=1, keepdims=True)


def face_of(identity: int, noise: float = 0.03) -> np.ndarray:
    vector = IDENTITIES[identity] + RNG.normal(scale=noise, size=128)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def recording(*people: int) -> list[NewFace]:
    """One track per identity, each its own person in the recording."""
    return [
        NewFace(
            n + 1, n + 1, float(n), float(n) + 2, float(n) + 1, f"rec/tracks/track-{n + 1:04d}.jpg", 0.5, face_of(p)
        )
        for n, p in enumerate(people)
    ]


@pytest.fixture
def index(tmp_path) -> PeopleIndex:
    return PeopleIndex(tmp_path / "people.sqlite", threshold=0.38)


def add(index: PeopleIndex, recording: str, faces: list[NewFace]) -> dict[int, int]:
    """A recording's people -> the box's people (their ids)."""
    return {number: seen.person for number, seen in index.add_recording(recording, f"{recording}.mp4", faces).items()}


def test_the_same_person_in_two_recordings_is_one_person(index):
    first = add(index, "a", recording(0, 1, 2))
    second = add(index, "b", recording(2, 3))
    assert second[1] == first[3]  # identity 2 seen again
    assert second[2] not in first.values()  # identity 3 is new
    assert index.count() == {"people": 4, "faces": 5}
    assert add(index, "a", recording(0, 1, 2)) == first  # a recording is indexed once: the same answer
    assert index.count() == {"people": 4, "faces": 5}
    assert not any(seen.new for seen in index.add_recording("b", "b.mp4", recording(2, 3)).values())


def test_a_known_person_is_taken_by_one_of_a_recordings_people_only(index):
    add(index, "a", recording(0))
    found = add(index, "b", recording(0, 0))  # two people the recording kept apart
    assert len(set(found.values())) == 2


def test_search_ranks_faces_by_similarity(index):
    add(index, "a", recording(0, 1, 2))
    matches = index.search(face_of(1), top=2)
    assert matches[0].face["track"] == 2 and matches[0].similarity > 0.8 > matches[1].similarity


def test_corrections_survive_regrouping(index):
    """What a person said holds against what the faces say."""
    first = add(index, "a", recording(0, 1, 4))
    second = add(index, "b", recording(4))
    assert second[1] == first[3]  # identity 4 seen twice: one person ...
    assert index.merge(first[1], first[2])  # ... identities 0 and 1 are one person, says a person
    assert index.rename(first[3], "Alice")
    split = index.split(first[3], [f["id"] for f in index.person(first[3])["faces"] if f["recording"] == "b"])
    assert split is not None  # ... and Alice's second face is someone else
    index.regroup()
    cards = {p["id"]: (p["name"], p["faces"]) for p in index.people()}
    assert cards == {first[1]: (None, 2), first[3]: ("Alice", 1), split: (None, 1)}


def test_two_named_people_are_never_merged(index):
    first = add(index, "a", recording(2))
    second = add(index, "b", recording(3))
    index.rename(first[1], "Bob")
    index.rename(second[1], "Carol")
    index.threshold = -1.0  # faces that would all be merged
    index.regroup()
    assert sorted(p["name"] for p in index.people()) == ["Bob", "Carol"]


def test_a_split_stays_split(index):
    add(index, "a", recording(0))
    add(index, "b", recording(0))
    person = index.people()[0]
    assert person["faces"] == 2
    face_ids = [f["id"] for f in index.person(person["id"])["faces"]]
    new = index.split(person["id"], face_ids[1:])
    assert new is not None
    index.regroup()
    assert sorted(p["faces"] for p in index.people()) == [1, 1]


def test_forgetting_a_person_and_a_recordings_results(index):
    people = add(index, "a", recording(0, 1))
    add(index, "b", recording(1))
    assert index.forget(people[1]) == 1
    assert [p["faces"] for p in index.people()] == [2]
    assert index.search(face_of(0), top=5)[0].face["person"] != people[1]
    assert index.forget_recording("b") == 1
    assert index.count() == {"people": 1, "faces": 1}
    assert index.forget_recording("a") == 1 and index.people() == []


def test_average_linkage_respects_cannot_and_must_links():
    vectors = np.stack([face_of(0), face_of(0), face_of(1), face_of(1)])
    assert average_linkage(vectors, 0.38) == [0, 0, 1, 1]
    # the two faces of one identity kept apart; the other identity's two faces together, and neither
    # of the first two joined to them (labels are numbered by each group's first face)
    assert average_linkage(vectors, 0.38, cannot=[(0, 1)]) == [0, 1, 2, 2]
    assert average_linkage(vectors, 0.38, cannot=[(2, 3)]) == [0, 0, 1, 2]
    assert average_linkage(vectors, 0.99, must=[(0, 2)]) == [0, 1, 0, 2]
    assert average_linkage(np.empty((0, 128)), 0.5) == []
