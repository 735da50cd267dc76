"""One small appliance for the case tests: the busy clip and the hamilton clip (renamed as a recorder
names its files, so it has a time of day) analysed by the real pipeline with people on, their
footage kept in ``state/done`` as the service keeps it, and the people index built from them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.output.manifest import Manifest
from appliance.people.index import PeopleIndex
from appliance.people.recordings import index_result
from appliance.settings import PeopleSettings
from tests.conftest import HAMILTON_AS_RECORDED

BUSY = "facenet_pytorch_video.mp4"


@dataclass(frozen=True)
class Appliance:
    outbox: Path
    done: Path
    index: PeopleIndex
    manifests: dict[str, Manifest]  # by result folder
    people: dict[str, dict[int, int]]  # result folder -> the recording's person number -> person id

    def person(self, recording: str, local: int) -> int:
        return self.people[recording][local]


@pytest.fixture(scope="session")
def appliance(tmp_path_factory, default_runs) -> Appliance:
    """The two recordings' results are the session's default runs (the same pipeline, the same
    settings, the same file names), copied in with their footage as the service would leave them."""
    data = tmp_path_factory.mktemp("case-appliance")
    outbox, done = data / "outbox", data / "state" / "done"
    done.mkdir(parents=True)
    index = PeopleIndex(data / "state" / "people.sqlite", PeopleSettings().threshold)
    manifests, people = {}, {}
    for name in (BUSY, HAMILTON_AS_RECORDED):
        result = default_runs[name]
        shutil.copyfile(default_runs.footage / name, done / name)
        output = outbox / result.output.name
        shutil.copytree(result.output, output)
        manifests[output.name] = result.manifest
        people[output.name] = {local: seen.person for local, seen in index_result(index, output).items()}
    return Appliance(outbox, done, index, manifests, people)
