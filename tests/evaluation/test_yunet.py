"""The YuNet yardstick: only known model files, real faces found on real photos, the script's report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from appliance.evaluation.detection import match
from appliance.evaluation.yunet import BUNDLED_MODEL, identify, yunet_finder

REPO = Path(__file__).resolve().parents[2]


def test_an_unknown_model_file_is_refused(tmp_path):
    fake = tmp_path / "yunet.onnx"
    fake.write_bytes(BUNDLED_MODEL.read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match="not a known YuNet model"):
        yunet_finder(fake)
    assert "int8" in identify(BUNDLED_MODEL)


def test_yunet_finds_the_annotated_faces_of_a_real_photo(faces_dev, annotations):
    name = "voc_2008_007676.jpg"
    faces = yunet_finder(BUNDLED_MODEL, 0.7)(cv2.imread(str(faces_dev / name)))
    m = match(annotations[name], [(f.box, f.confidence) for f in faces], 20)
    assert m.faces >= 5 and m.hits >= m.faces - 1 and m.false_positives <= 1
    assert all(len(f.landmarks) == 5 and 0.7 <= f.confidence <= 1 for f in faces)


def test_the_baseline_script_reports_yunet_on_one_half(faces_dev, tmp_path):
    out = tmp_path / "yunet.json"
    proc = subprocess.run(
        [sys.executable, "scripts/yunet_baseline.py", "--model", str(BUNDLED_MODEL), "--half", "b", "--no-mtcnn"]
        + ["--no-timing", "--images", str(faces_dev), "--annotations", str(faces_dev / "annotations.json")]
        + ["--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["half"] == "b" and report["mtcnn"] is None
    rows = report["yunet"]["at_score"]
    assert rows["0.6"]["recall"] >= rows["0.7"]["recall"] >= rows["0.8"]["recall"] > 0.5
    assert rows["0.8"]["precision"] >= rows["0.6"]["precision"]
    assert 0.5 < report["yunet"]["curve"]["average_precision"] <= 1
    assert "score 0.7: recall" in proc.stdout
