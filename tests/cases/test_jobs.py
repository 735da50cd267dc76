"""Exports started from the page: kept a week (their zips hold footage of people), then deleted; what a
killed one left, at once."""

from __future__ import annotations

import os
import time

from appliance.cases.jobs import KEEP_S, CaseJobs
from appliance.settings import load


def test_old_exports_are_deleted_and_nothing_else(tmp_path):
    old = tmp_path / "20261101-120000-abcdef"
    old.mkdir()
    (old / "case-20261101-120000-abcdef.zip").write_bytes(b"footage")
    recent = tmp_path / "20261205-120000-abcdef"
    recent.mkdir()
    killed = recent / f".case-{2**22 + 12345}-x1y2"  # a work folder an export killed left (no such process)
    killed.mkdir()
    (killed / "clip.mp4").write_bytes(b"footage")
    unrelated = tmp_path / "notes"
    unrelated.mkdir()
    for folder in (old, unrelated):
        os.utime(folder, (time.time() - KEEP_S - 60,) * 2)
    jobs = CaseJobs(tmp_path, load(flags={}, environ={}))
    jobs._purge()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20261205-120000-abcdef", "notes"]
    assert list(recent.iterdir()) == []
    assert jobs.get("20261205-120000-abcdef") is not None
    assert jobs.get("../notes") is None and jobs.get("notes") is None
