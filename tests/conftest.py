"""Shared fixtures: the real data in ../shared/data, one detector per backend per session, the shared
clips analysed once a session, and a check that every manifest a test produces follows the published
JSON Schema.

The shared data is required: without it the tests that need it fail (never skip silently), saying
where it was looked for.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from appliance.detect import Detector
    from appliance.pipeline.extract import ExtractResult

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


# the hamilton clip under the name a recorder gives its files (so it has a time of day)
HAMILTON_AS_RECORDED = "cam1_20261127_143005.mp4"
CLIPS = {
    "facenet_pytorch_video.mp4": "facenet_pytorch_video.mp4",
    HAMILTON_AS_RECORDED: "short_hamilton_clip.mp4",
    "MOT20-05-raw_even_shorter.mp4": "MOT20-05-raw_even_shorter.mp4",
    "carphone_pristine.mp4": "carphone_pristine.mp4",
}


class DefaultRuns:
    """Each shared clip analysed once a session by the pipeline as it runs by default (TFLite, default
    settings), when a test first asks for it. Several modules check the same result (the extract and
    grouping tests, the case tests' appliance): one run serves them all. Results are read-only."""

    def __init__(self, folder: Path, videos: Path, detector: Detector) -> None:
        from appliance.pipeline.extract import Extractor
        from appliance.settings import ExtractSettings

        self.footage, self.outbox = folder / "footage", folder / "outbox"
        self.footage.mkdir()
        self.videos = videos
        self.extractor = Extractor(ExtractSettings(backend="tflite"), detector=detector)
        self.results: dict[str, ExtractResult] = {}

    def __getitem__(self, name: str) -> ExtractResult:
        """The result of clip ``name`` (a key of CLIPS), its footage at ``self.footage / name``."""
        if name not in self.results:
            shutil.copyfile(self.videos / CLIPS[name], self.footage / name)
            self.results[name] = self.extractor.run(self.footage / name, self.outbox)
        return self.results[name]


@pytest.fixture(scope="session")
def default_runs(tmp_path_factory, videos, tflite_detector) -> DefaultRuns:
    return DefaultRuns(tmp_path_factory.mktemp("default-runs"), videos, tflite_detector)


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
