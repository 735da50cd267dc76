"""Retention: off by default; when configured, the oldest results and old processed footage go, logged."""

from __future__ import annotations

import os
import time

import pytest

from appliance.service.layout import StateLayout
from appliance.service.queue.sqlite import SqliteJobStore
from appliance.service.retention import apply_retention
from appliance.settings import RetentionSettings
from tests.samples import sample_manifest

DAY = 86400


class Box:
    """An outbox, a state folder and a job store, as the service has them."""

    def __init__(self, root):
        self.outbox = root / "outbox"
        self.outbox.mkdir()
        self.layout = StateLayout(root / "state").create()
        self.done_dir, self.failed_dir = self.layout.done, self.layout.failed
        self.store = SqliteJobStore(self.layout.database)

    def apply(self, settings: RetentionSettings) -> None:
        apply_retention(settings, self.outbox, self.layout.done, self.store)


@pytest.fixture
def box(tmp_path):
    return Box(tmp_path)


def make_result(outbox, name, age_days, size=1000):
    folder = outbox / name
    (folder / "faces").mkdir(parents=True)
    (folder / "faces" / "track-0001.jpg").write_bytes(b"x" * size)
    (folder / "manifest.json").write_text(sample_manifest().to_json())
    old = time.time() - age_days * DAY
    os.utime(folder, (old, old))
    return folder


def test_nothing_is_removed_by_default(box):
    service = box
    old = make_result(service.outbox, "old", 400)
    footage = service.done_dir / "cam.mp4"
    footage.write_bytes(b"video")
    os.utime(footage, (time.time() - 400 * DAY,) * 2)
    service.apply(RetentionSettings())
    assert old.exists() and footage.exists()
    assert service.store.operator_log() == []


def test_age_and_size_limits_remove_the_oldest_first_and_say_so(box):
    service = box
    ancient = make_result(service.outbox, "ancient", 40)
    older = make_result(service.outbox, "older", 10, size=1500)
    newer = make_result(service.outbox, "newer", 1, size=1500)
    one_result = sum(f.stat().st_size for f in newer.rglob("*") if f.is_file())
    settings = RetentionSettings(outbox_days=30, outbox_gb=1.5 * one_result / 1e9, done_days=7)
    partial = service.outbox / ".partial-x"
    partial.mkdir()
    old_footage = service.done_dir / "old.mp4"
    old_footage.write_bytes(b"video")
    os.utime(old_footage, (time.time() - 8 * DAY,) * 2)
    fresh_footage = service.done_dir / "fresh.mp4"
    fresh_footage.write_bytes(b"video")
    failed = service.failed_dir / "bad.mp4"
    failed.write_bytes(b"junk")
    os.utime(failed, (time.time() - 100 * DAY,) * 2)
    service.apply(settings)
    assert not ancient.exists()  # older than 30 days
    assert not older.exists() and newer.exists()  # over 2.5 kB: the oldest goes first
    assert partial.exists()  # not a result: never touched by retention
    assert not old_footage.exists() and fresh_footage.exists()
    assert failed.exists()  # failed footage is kept for a person to look at
    messages = [e["message"] for e in service.store.operator_log()]
    assert any("ancient" in m and "30 days" in m for m in messages)
    assert any("older" in m and "GB" in m for m in messages)
    assert any("old.mp4" in m for m in messages)


def test_a_purged_result_takes_its_faces_out_of_the_people_index(box):
    import numpy as np

    from appliance.people.index import NewFace, PeopleIndex

    people = PeopleIndex(box.layout.people_database, threshold=0.38)
    vector = np.ones(128, np.float32) / np.sqrt(128)
    for name, age in (("old-visit", 40), ("new-visit", 1)):
        make_result(box.outbox, name, age)
        people.add_recording(
            name, f"{name}.mp4", [NewFace(1, 1, 0.0, 1.0, 0.5, f"{name}/tracks/track-0001.jpg", 0.8, vector)]
        )
    assert people.count() == {"people": 1, "faces": 2}
    apply_retention(RetentionSettings(outbox_days=30), box.outbox, box.layout.done, box.store, people)
    assert people.count() == {"people": 1, "faces": 1}
    assert [f["recording"] for f in people.person(people.people()[0]["id"])["faces"]] == ["new-visit"]
