"""Long recordings in parts: a split run's result (plan, parts on disk, merge) against the same clip unsplit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.pipeline.extract import Extractor
from appliance.pipeline.parts import load_part
from appliance.settings import ExtractSettings, ScanSettings
from tests.clips import short_gop


@pytest.fixture(scope="module")
def short_gop_clip(videos: Path, tmp_path_factory) -> Path:
    """The busy facenet clip with a keyframe every 10 frames (a camera's GOP, shrunk to the clip's 4 s)."""
    folder = tmp_path_factory.mktemp("parts") / "clips"
    folder.mkdir()
    return short_gop(videos, folder / "walk-gop10.mp4", width=960)


@pytest.mark.slow
def test_a_split_run_finds_what_the_whole_run_finds(short_gop_clip: Path, tmp_path: Path, tflite_detector):
    extractor = Extractor(ExtractSettings(backend="tflite"), tflite_detector, scan=ScanSettings(enabled=False))
    whole = extractor.run(short_gop_clip, tmp_path / "whole")
    plan = extractor.plan(short_gop_clip, split_s=1.0)
    assert len(plan.parts) == 2, plan.reason  # 105 frames, 11 keyframes: 2 parts of at least 4 GOPs
    work = tmp_path / "work"
    folders = [extractor.run_part(short_gop_clip, plan, p.number, work) for p in reversed(plan.parts)]
    split = extractor.merge(short_gop_clip, plan, sorted(folders), tmp_path / "split")

    assert abs(split.tracks - whole.tracks) <= 1, (split.tracks, whole.tracks)  # one person may be cut at the edge
    manifest = json.loads((split.output / "manifest.json").read_text())
    assert manifest["stats"]["parts"] == 2
    people = manifest["people"]
    assert abs(len(people) - len(whole.manifest.people)) <= 1
    for person in people:
        assert (split.output / person["best"]["file"]).is_file()
    for track in manifest["tracks"]:  # a track that crossed the cut is one track, seen on both sides
        assert track["first_s"] <= track["best"]["time_s"] <= track["last_s"]
    parts = [load_part(folder) for folder in folders]
    for part in parts:  # a part job's count is its tracks, as a whole recording's is (not its detections)
        assert part.counts["tracks"] == len(part.tracks) < part.counts["detections"]
    assert manifest["stats"]["detections"] == sum(part.counts["detections"] for part in parts)
    cut = plan.parts[1].start_s
    crossing = [t for t in manifest["tracks"] if t["first_s"] < cut < t["last_s"]]
    assert crossing, "the people walking through the cut should each be one track"
