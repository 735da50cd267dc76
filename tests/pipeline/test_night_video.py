"""The busy clip at night (an IR-lit grey camera): enhancement finds its people, and tracks hold."""

from __future__ import annotations

import json

import pytest

from appliance.evaluation import degrade
from appliance.pipeline.extract import Extractor
from appliance.settings import ExtractSettings, ScanSettings

pytestmark = pytest.mark.slow  # whole clips, real processes or model conversion


def test_people_are_found_at_night_with_enhancement_and_their_tracks_hold(tflite_detector, videos, tmp_path):
    """Without enhancement the grey night clip loses most of its people; with it, each person is
    found in about as many frames as in daylight, in one track, and nothing else is."""
    clip = degrade.degrade_video(videos / "facenet_pytorch_video.mp4", tmp_path / "night.mp4", ["night-c"])
    found = {}
    for mode in ("off", "auto"):
        settings = ExtractSettings(backend="tflite", enhance=mode)
        extractor = Extractor(settings, tflite_detector, scan=ScanSettings(enabled=False))
        result = extractor.run(clip, tmp_path / mode)
        manifest = json.loads((result.output / "manifest.json").read_text())
        found[mode] = {
            "people": len(manifest["people"]),
            "long_tracks": sum(track["detections"] >= 5 for track in manifest["tracks"]),
            "tracks": len(manifest["tracks"]),
            "enhanced": manifest["enhanced_frames"],
        }
    off, auto = found["off"], found["auto"]
    assert off["enhanced"] == 0 and auto["enhanced"] == 21, found  # every analysed frame is dark
    assert auto["people"] >= off["people"] + 2, found  # 9 people walk through in daylight
    assert auto["long_tracks"] >= off["long_tracks"] + 2, found
    # tracks do not break up: no more tracks than the daylight clip's 9-11, and no phantom people
    assert auto["tracks"] <= 11 and auto["people"] <= 9, found
