"""Shared fixtures: the real data in ../shared/data and one detector per backend per session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("APPLIANCE_SHARED_DATA", REPO.parent / "shared" / "data"))
FACES_DEV = SHARED / "faces-dev"
VIDEOS = SHARED / "videos"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (set APPLIANCE_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def faces_dev() -> Path:
    return _need(FACES_DEV)


@pytest.fixture(scope="session")
def annotations(faces_dev: Path) -> dict[str, list[list[int]]]:
    return json.loads((faces_dev / "annotations.json").read_text())


@pytest.fixture(scope="session")
def videos() -> Path:
    return _need(VIDEOS)


@pytest.fixture(scope="session")
def tf_detector():
    from appliance.detect import Detector

    return Detector("tf")


@pytest.fixture(scope="session")
def tflite_detector():
    from appliance.detect import Detector

    return Detector("tflite")


@pytest.fixture(params=["tf", "tflite"])
def detector(request):
    return request.getfixturevalue(f"{request.param}_detector")
