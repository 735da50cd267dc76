"""People on the page: cards, a person's appearances, corrections behind CSRF, the API."""

from __future__ import annotations

import re

import numpy as np
import pytest

from appliance.people.index import NewFace, PeopleIndex
from appliance.web import create_app
from tests.web.conftest import settings_for


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128)
    return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.fixture
def people(populated):
    index = PeopleIndex(populated.data / "state" / "people.sqlite", threshold=0.38)
    crop = "walk/tracks/track-0001.jpg"
    index.add_recording(
        "walk",
        "walk.mp4",
        [NewFace(1, 1, 0.0, 1.0, 0.4, crop, 0.8, vector(1)), NewFace(2, 2, 0.0, 1.0, 0.5, crop, 0.6, vector(2))],
        job=1,
    )
    index.add_recording("walk-2", "walk.mp4", [NewFace(1, 1, 2.0, 3.0, 2.5, crop, 0.7, vector(1))], job=1)
    return index


@pytest.fixture
def client(populated, people):
    return create_app(settings_for(populated.data), populated.store).test_client()


def csrf(client) -> str:
    page = client.get("/people").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)


def test_cards_and_a_persons_appearances(client, people):
    page = client.get("/people").get_data(as_text=True)
    assert page.count('data-person="') == 2 and "2 appearances in 2 recordings" in page
    listed = client.get("/api/people").get_json()
    assert (len(listed["people"]), listed["faces"]) == (2, 3)
    twice = next(p for p in listed["people"] if p["faces"] == 2)
    assert twice["face"] == "/files/walk/tracks/track-0001.jpg"
    detail = client.get(f"/api/people/{twice['id']}").get_json()
    assert [a["recording"] for a in detail["appearances"]] == ["walk", "walk-2"]
    assert client.get(f"/people/{twice['id']}").status_code == 200
    assert client.get("/api/people/999").status_code == 404


def test_corrections_need_the_csrf_token(client, people):
    first, second = (p["id"] for p in people.people())
    assert client.post(f"/people/{first}/rename", data={"name": "Alice"}).status_code == 403
    token = csrf(client)
    assert client.post(f"/people/{first}/rename", data={"name": "Alice", "csrf": token}).status_code == 302
    assert people.person(first)["name"] == "Alice"
    assert client.post(f"/people/{first}/merge", data={"other": second, "csrf": token}).status_code == 302
    assert [p["faces"] for p in people.people()] == [3]
    faces = [f["id"] for f in people.person(first)["faces"]]
    assert client.post(f"/people/{first}/split", data={"face": faces[:1], "csrf": token}).status_code == 302
    assert sorted(p["faces"] for p in people.people()) == [1, 2]
    new = next(p["id"] for p in people.people() if p["id"] != first)
    assert client.post(f"/people/{first}/not-same", data={"other": new, "csrf": token}).status_code == 302
    assert client.post(f"/people/{new}/forget", data={"csrf": token}).status_code == 302
    assert [p["id"] for p in people.people()] == [first]


def test_not_the_same_person_survives_regrouping(client, people):
    """Two people told apart on the page stay apart when every face is grouped again, even at a
    threshold at which all faces would otherwise be one person (nothing else keeps these two apart)."""
    first, second = (p["id"] for p in people.people())
    faces = {p: {f["id"] for f in people.person(p)["faces"]} for p in (first, second)}
    token = csrf(client)
    assert client.post(f"/people/{first}/not-same", data={"other": second, "csrf": token}).status_code == 302
    people.threshold = -1.0
    people.regroup()
    after = [{f["id"] for f in people.person(p["id"])["faces"]} for p in people.people()]
    assert sorted(after, key=len) == [faces[second], faces[first]]


def test_search_needs_a_photo_and_the_service(client):
    assert client.post("/api/search").status_code == 400
    response = client.post("/api/search", data={"photo": (__import__("io").BytesIO(b"x"), "a.jpg")})
    assert response.status_code == 503 and "appliance serve" in response.get_json()["error"]


def test_with_people_off_there_are_no_people_pages(populated):
    client = create_app(settings_for(populated.data, people=False), populated.store).test_client()
    assert client.get("/people").status_code == 404 and client.get("/api/people").status_code == 404
