"""The busy clip at night (an IR-lit grey camera): enhancement finds its people, and tracks hold."""

from __future__ import annotations

import json

import pytest

from appliance.evaluation import degrade
from appliance.pipeline.extract import Extractor
from appliance.settings import ExtractSettings, ScanSettings

pytestmark = pytest.mark.slow  # whole clips, real processes or model conversion

DAYLIGHT_PEOPLE = 8  # the clean clip: 9 tracks, 8 people (tests/pipeline/test_grouping.py)
DAYLIGHT_LONGEST_S = (4.0, 4.0, 3.8, 3.8)  # the clean clip's four longest tracks, first to last sighting


def test_people_are_found_at_night_with_enhancement_and_their_tracks_hold(tflite_detector, videos, tmp_path):
    """Without enhancement the grey night clip (night-c) loses most of its people; with it, each dark
    frame denoised with the frames decoded before it, the daylight clip's people are found (within
    one), each in one track about as long as in daylight, and nothing else is."""
    clip = degrade.degrade_video(videos / "facenet_pytorch_video.mp4", tmp_path / "night.mp4", ["night-c"])
    found = {}
    for mode in ("off", "auto"):
        settings = ExtractSettings(backend="tflite", enhance=mode)
        extractor = Extractor(settings, tflite_detector, scan=ScanSettings(enabled=False))
        result = extractor.run(clip, tmp_path / mode)
        manifest = json.loads((result.output / "manifest.json").read_text())
        found[mode] = {
            "people": len(manifest["people"]),
            "tracks": len(manifest["tracks"]),
            "longest_s": sorted((t["last_s"] - t["first_s"] for t in manifest["tracks"]), reverse=True)[:4],
            "decoded": manifest["stats"]["frames_decoded"],
            "denoised": "denoise" in manifest["stats"]["time_ms"],
        }
    off, auto = found["off"], found["auto"]
    assert not off["denoised"] and auto["denoised"], found
    assert auto["decoded"] > off["decoded"], found  # the frames before each dark one, decoded for it
    assert off["people"] <= DAYLIGHT_PEOPLE - 3, found  # the night model does hide them
    assert abs(auto["people"] - DAYLIGHT_PEOPLE) <= 1 and auto["tracks"] <= 10, found
    # tracks through the dark: the four longest at least 80 % as long as in daylight
    assert len(auto["longest_s"]) == 4, found
    for night_s, day_s in zip(auto["longest_s"], DAYLIGHT_LONGEST_S, strict=True):
        assert night_s >= 0.8 * day_s - 1e-6, found
