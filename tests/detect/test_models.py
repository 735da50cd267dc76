"""The committed TFLite nets: checksums as documented, reproducible conversion, and a lite-only install."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # whole clips, real processes or model conversion

MODELS = REPO / "models"


def documented_checksums() -> dict[str, str]:
    text = (MODELS / "README.md").read_text()
    return dict(re.findall(r"\| `([\w-]+\.tflite)` \|[^|]+\|[^|]+\| `([0-9a-f]{64})` \|", text))


def test_committed_nets_match_the_documented_checksums():
    documented = documented_checksums()
    assert {"pnet.tflite", "rnet.tflite", "onet.tflite"} <= documented.keys()
    for name, digest in documented.items():
        assert hashlib.sha256((MODELS / name).read_bytes()).hexdigest() == digest, name


def test_converting_again_gives_nets_with_the_same_outputs(tmp_path):
    pytest.importorskip("tensorflow")
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "convert_models.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    from appliance.detect.tflite_runner import TFLiteRunner

    fresh, committed = TFLiteRunner(model_dir=tmp_path), TFLiteRunner(model_dir=MODELS)
    rng = np.random.default_rng(1)
    image = rng.uniform(-1, 1, (2, 61, 47, 3)).astype(np.float32)
    for a, b in zip(fresh.pnet(image), committed.pnet(image), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    patches = rng.uniform(-1, 1, (5, 48, 48, 3)).astype(np.float32)
    for a, b in zip(fresh.onet(patches), committed.onet(patches), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(fresh.rnet(patches[:, :24, :24]), committed.rnet(patches[:, :24, :24]), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_lite_extra_alone_extracts_the_tensorflow_faces(tmp_path, videos, faces_dev, tf_detector):
    """A fresh venv with only the lite lock (what the image installs): no TensorFlow, same faces as the TF backend."""
    venv = tmp_path / "venv"
    # uv (a dev dependency) installs the same hashed lock as the image's pip, in a fraction of the time
    uv = str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    for args in (["--require-hashes", "-r", str(REPO / "requirements" / "lite.txt")], ["--no-deps", str(REPO)]):
        command = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
    python = str(venv / "bin" / "python")
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('tensorflow'), u.find_spec('mtcnn'))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert probe.stdout.split() == ["None", "None"]
    inputs = [videos / "carphone_pristine.mp4", faces_dev / "voc_2008_004176.jpg"]
    out = tmp_path / "out"
    run = subprocess.run(
        [str(venv / "bin" / "appliance"), "extract", "-q", "-o", str(out), *map(str, inputs)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "tensorflow" not in run.stderr.lower()
    from appliance.pipeline.extract import Extractor
    from appliance.settings import ExtractSettings

    reference = Extractor(ExtractSettings(backend="tf"), detector=tf_detector)
    for folder, source in zip(run.stdout.split(), inputs, strict=True):
        lite = json.loads((Path(folder) / "manifest.json").read_text())
        assert lite["backend"] == "tflite"
        tf = reference.run(source, tmp_path / "tf").manifest.model_dump()
        assert len(lite["tracks"]) == len(tf["tracks"]) >= 1
        for a, b in zip(lite["tracks"], tf["tracks"], strict=True):
            np.testing.assert_allclose(a["best"]["box"], b["best"]["box"], atol=1.0)
            assert abs(a["best"]["confidence"] - b["best"]["confidence"]) < 1e-3
