"""Shared fixtures: the real data in ../shared/data, one detector per backend per session, and a check
that every manifest a test produces follows the published JSON Schema.

The shared data is required: without it the tests that need it fail (never skip silently), saying
where it was looked for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("APPLIANCE_SHARED_DATA", REPO.parent / "shared" / "data"))
FACES_DEV = SHARED / "faces-dev"
VIDEOS = SHARED / "videos"
IDENTITIES = SHARED / "identities"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared test data not found at {path}: the tests need ../shared/data (or APPLIANCE_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def faces_dev() -> Path:
    return need(FACES_DEV)


@pytest.fixture(scope="session")
def annotations(faces_dev: Path) -> dict[str, list[list[int]]]:
    return json.loads((faces_dev / "annotations.json").read_text())


@pytest.fixture(scope="session")
def videos() -> Path:
    return need(VIDEOS)


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


@pytest.fixture(scope="session")
def manifest_validator():
    from jsonschema import Draft202012Validator

    from appliance.output.manifest import SCHEMA_FILE

    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_manifests(root: Path, validator) -> int:
    """Every published manifest under ``root`` validates against the schema; returns how many there were."""
    checked = 0
    for path in root.rglob("manifest.json"):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # a partial result, not published
        errors = sorted(validator.iter_errors(json.loads(path.read_text())), key=str)
        assert not errors, f"{path} does not follow manifest.schema.json: {errors[0].message}"
        checked += 1
    return checked


@pytest.fixture(autouse=True)
def _manifests_follow_the_schema(request, manifest_validator):
    """After each test that used ``tmp_path``: every published manifest in it validates against the schema."""
    root = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if root is not None:
        check_manifests(root, manifest_validator)


@pytest.fixture(scope="module", autouse=True)
def _shared_manifests_follow_the_schema(tmp_path_factory, manifest_validator):
    """After each module: the folders it made with ``tmp_path_factory`` (results that module- and
    session-scoped fixtures publish, which no test's ``tmp_path`` holds) are checked the same way."""
    base = tmp_path_factory.getbasetemp()
    before = set(base.iterdir())
    yield
    for folder in sorted(set(base.iterdir()) - before):
        if folder.is_dir() and not folder.is_symlink():
            check_manifests(folder, manifest_validator)


@pytest.fixture(scope="session", autouse=True)
def _session_manifests_follow_the_schema(tmp_path_factory, manifest_validator):
    """At the end: everything under the session's temporary folder, for what session-scoped fixtures
    published after the module that made their folder."""
    yield
    check_manifests(tmp_path_factory.getbasetemp(), manifest_validator)
