"""A long recording on one box (the embedded queue): split in parts that the box's workers share, one result."""

from __future__ import annotations

import json

import pytest

from tests.appliance_proc import ApplianceProcess
from tests.clips import short_gop

pytestmark = pytest.mark.slow  # a real service, two workers


def test_two_local_workers_share_the_parts_of_one_recording(tmp_path, videos):
    env = {"APPLIANCE_WORKERS": "2", "APPLIANCE_SPLIT_S": "1", "APPLIANCE_SCAN": "false", "APPLIANCE_PEOPLE": "false"}
    app = ApplianceProcess(tmp_path / "data", env=env).start()
    try:
        short_gop(videos, app.data / "inbox" / "walk.mp4")
        jobs = app.wait_idle(1, timeout=240)
        assert [j["state"] for j in jobs] == ["done"], jobs
        detail = app.get(f"/api/jobs/{jobs[0]['id']}")
        assert [p["kind"] for p in detail["parts"]] == ["part", "part", "merge"]
        assert all(p["state"] == "done" and p["attempts"] == 1 for p in detail["parts"])
        assert jobs[0]["faces"] == len(detail["tracks"]) >= 7
        manifest = json.loads((app.data / "outbox" / "walk" / "manifest.json").read_text())
        assert manifest["stats"]["parts"] == 2
        assert [p.name for p in (app.data / "outbox").iterdir() if not p.name.startswith(".")] == ["walk"]
        assert not list((app.data / "state" / "parts").iterdir())
        assert (app.data / "state" / "done" / "walk.mp4").is_file()
        taken = [line for line in app.log().splitlines() if "taken (part)" in line]
        assert len(taken) == 2
    finally:
        app.close()
