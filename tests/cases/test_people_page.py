"""The people pages' own features: merge suggestions just below the threshold, hiding a person,
choosing the photo that stands for them, and merging people picked on the grid."""

from __future__ import annotations

import re

import numpy as np
import pytest

from appliance.people.embed import EMBEDDING_SIZE
from appliance.people.index import NewFace, PeopleIndex
from appliance.web import create_app
from tests.web.conftest import populated, settings_for  # noqa: F401 - the page's data folder

THRESHOLD = 0.38
CROP = "walk/tracks/track-0001.jpg"


def unit(*parts: tuple[int, float]) -> np.ndarray:
    vector = np.zeros(EMBEDDING_SIZE, dtype=np.float32)
    for axis, value in parts:
        vector[axis] = value
    return vector / np.linalg.norm(vector)


@pytest.fixture
def people(populated):  # noqa: F811
    index = PeopleIndex(populated.data / "state" / "people.sqlite", threshold=THRESHOLD)
    near = float(np.sqrt(1 - 0.33**2))
    seen = index.add_recording(
        "walk",
        "walk.mp4",
        [
            NewFace(1, 1, 0.0, 1.0, 0.4, CROP, 0.8, unit((0, 1.0))),
            NewFace(2, 1, 2.0, 3.0, 2.5, CROP, 0.6, unit((0, 1.0))),
            NewFace(3, 2, 0.0, 1.0, 0.5, CROP, 0.7, unit((0, 0.33), (1, near))),  # 0.33: possibly the same
            NewFace(4, 3, 0.0, 1.0, 0.5, CROP, 0.7, unit((2, 1.0))),  # nobody like them
        ],
    )
    return index, {local: s.person for local, s in seen.items()}


@pytest.fixture
def client(populated, people):  # noqa: F811
    return create_app(settings_for(populated.data), populated.store).test_client()


def csrf(client) -> str:
    page = client.get("/people").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)  # type: ignore[union-attr]


def figures(page: str, section: str) -> list[int]:
    block = page.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return [int(n) for n in re.findall(r'<figure data-person="(\d+)"', block)]


def test_merge_suggestions_are_the_people_just_below_the_threshold(client, people):
    index, ids = people
    page = client.get(f"/people/{ids[1]}").get_data(as_text=True)
    assert figures(page, "suggestions") == [ids[2]] and "similarity 0.33" in page
    token = csrf(client)
    client.post(f"/people/{ids[1]}/not-same", data={"csrf": token, "other": ids[2]})
    assert 'id="suggestions"' not in client.get(f"/people/{ids[1]}").get_data(as_text=True)


def test_hide_and_show_hidden(client, people):
    _, ids = people
    token = csrf(client)
    client.post(f"/people/{ids[2]}/hide", data={"csrf": token, "hidden": "1"})
    grid = client.get("/people").get_data(as_text=True)
    assert ids[2] not in figures(grid, "people") and "Show hidden (1)" in grid
    everyone = client.get("/people?hidden=1").get_data(as_text=True)
    assert set(figures(everyone, "people")) == set(ids.values())
    client.post(f"/people/{ids[2]}/hide", data={"csrf": token, "hidden": "0"})
    assert ids[2] in figures(client.get("/people").get_data(as_text=True), "people")


def test_choose_this_photo(client, people):
    index, ids = people
    faces = index.person(ids[1])["faces"]
    best = next(p for p in index.people() if p["id"] == ids[1])["best"]
    other = next(f for f in faces if f["id"] != best.get("face"))
    token = csrf(client)
    refused = client.post(
        f"/people/{ids[2]}/photo",
        data={"csrf": token, "photo_face": other["id"]},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 409  # not one of their faces
    client.post(f"/people/{ids[1]}/photo", data={"csrf": token, "photo_face": other["id"]})
    card = next(p for p in index.people() if p["id"] == ids[1])
    assert card["best"]["face"] == other["id"] and card["best"]["chosen"]
    assert "their photo" in client.get(f"/people/{ids[1]}").get_data(as_text=True)


def test_merge_the_people_picked_on_the_grid(client, people):
    index, ids = people
    token = csrf(client)
    assert client.post("/people/merge", data={"csrf": "wrong", "person": [ids[1], ids[3]]}).status_code == 403
    client.post("/people/merge", data={"csrf": token, "person": [ids[3], ids[1], ids[2]]})
    assert [p["id"] for p in index.people()] == [ids[3]]
    assert len(index.person(ids[3])["faces"]) == 4


def test_export_requests_the_page_refuses(client, people):
    _, ids = people
    token = csrf(client)
    assert client.post("/people/999/export", data={"csrf": token}).status_code == 404
    assert client.post(f"/people/{ids[1]}/export", data={"csrf": "wrong"}).status_code == 403
    bad = client.post(f"/people/{ids[1]}/export", data={"csrf": token, "redact": "faces"})
    assert bad.status_code == 400 and "others, all or none" in bad.get_json()["error"]
    for pad in ("nan", "inf", "-inf", "two"):  # min/max would let nan through; inf takes whole recordings
        refused = client.post(f"/people/{ids[1]}/export", data={"csrf": token, "pad_s": pad})
        assert refused.status_code == 400 and "pad_s a number of seconds" in refused.get_json()["error"], pad
    assert client.get("/api/cases/../../secret").status_code == 404
    assert client.get("/api/cases/20261127-143005-abcdef").status_code == 404
    assert client.get("/cases/20261127-143005-abcdef/case.zip").status_code == 404
