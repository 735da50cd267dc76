"""A data folder with real results (a finished job with its manifest and crop, a failed job) for the page."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.service.jobs import Job
from appliance.service.queue.sqlite import SqliteJobStore
from appliance.settings import Settings, load
from tests.samples import sample_manifest

TOKEN = "correct-horse-battery-staple-42"


def settings_for(data: Path, **flat: object) -> Settings:
    return load(flags={"data": str(data), **flat}, environ={})


@dataclass
class Populated:
    data: Path
    store: SqliteJobStore
    done: Job
    failed: Job


@pytest.fixture
def populated(tmp_path) -> Populated:
    data = tmp_path / "data"
    settings = settings_for(data)
    result = settings.service.outbox_dir / "walk"
    (result / "faces").mkdir(parents=True)
    (result / "tracks").mkdir()
    (result / "tracks" / "track-0001.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    (result / "faces" / "person-0001.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    (result / "manifest.json").write_text(sample_manifest().to_json())
    (result / "faces.csv").write_text("track,person,file\n1,1,tracks/track-0001.jpg\n")
    (data / "secret.txt").write_text("not for the web")
    os.symlink(data / "secret.txt", settings.service.outbox_dir / "link.txt")
    state = settings.service.state_dir
    store = SqliteJobStore(state / "jobs.sqlite")
    done = store.add("walk.mp4", str(state / "processing/walk.mp4"), "a" * 64, 100)
    store.claim(1)
    store.finish(done.id, str(state / "done/walk.mp4"), str(result), 1, 21)
    failed_path = state / "failed" / "bad <script>.mp4"
    failed_path.parent.mkdir(parents=True, exist_ok=True)
    failed_path.write_bytes(b"junk")
    bad = store.add("bad <script>.mp4", str(failed_path), "b" * 64, 4)
    store.claim(1)
    store.fail(bad.id, str(failed_path), "bad <script>.mp4: not a readable video")
    return Populated(data, store, done, bad)
