"""``appliance eval --sweep-from``: the curve (over the final judge's probability) reaches below the
operating point, which stays what the configured detector gives (real photos, real TFLite nets)."""

from __future__ import annotations

import json
import subprocess
import sys

from appliance.detect.judge import Judge


def run_eval(faces_dev, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "appliance.cli", "eval", "--images", str(faces_dev)]
    cmd += ["--annotations", str(faces_dev / "annotations.json"), "--backend", "tflite", "--enhance", "off"]
    cmd += ["--half", "a", "--limit", "10", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_the_sweep_extends_the_curve_and_keeps_the_operating_point(faces_dev):
    plain = json.loads(run_eval(faces_dev, "--json").stdout)
    swept = json.loads(run_eval(faces_dev, "--json", "--sweep-from", "0.05").stdout)
    keys = ("faces", "hits", "false_positives", "recall", "precision")
    assert [plain[k] for k in keys] == [swept[k] for k in keys] and plain["hits"] > 10
    threshold = Judge.load().threshold
    assert plain["curve"]["lowest_confidence"] >= threshold > swept["curve"]["lowest_confidence"] >= 0.05
    last = swept["curve"]["points"][-1]
    assert last["hits"] + last["false_positives"] > plain["detections"]  # the sweep counted more detections
    text = run_eval(faces_dev, "--sweep-from", "0.05").stdout
    assert "curve: average precision" in text and "at precision >= 0.9: recall" in text
