"""The manifest schema: published, in step with the records, read back as written; the writer publishes atomically."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from appliance.output.manifest import CSV_FIELDS, SCHEMA_FILE, SCHEMA_VERSION, json_schema, read_manifest
from appliance.output.writer import PARTIAL_PREFIX, ResultWriter, remove_partials
from tests.samples import sample_manifest


def test_the_published_schema_is_the_records():
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), (
        "manifest.schema.json is stale: python -m appliance.output.manifest"
    )


def test_a_manifest_is_read_back_as_written_and_says_its_schema(tmp_path, manifest_validator):
    manifest = sample_manifest()
    (tmp_path / "manifest.json").write_text(manifest.to_json())
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert data["schema"] == SCHEMA_VERSION
    assert list(manifest_validator.iter_errors(data)) == []
    assert read_manifest(tmp_path) == manifest


def test_what_is_not_a_manifest_reads_as_none(tmp_path, manifest_validator):
    folder = tmp_path / ".not-a-result"  # hidden: the suite's schema check passes it by
    folder.mkdir()
    assert read_manifest(folder) is None
    (folder / "manifest.json").write_text('{"tracks": []}')
    assert read_manifest(folder) is None
    assert list(manifest_validator.iter_errors({"tracks": []}))
    (folder / "manifest.json").write_text("not json")
    assert read_manifest(folder) is None


def test_a_result_is_published_whole_under_a_free_name(tmp_path):
    manifest = sample_manifest()
    with ResultWriter(tmp_path, "walk") as writer:
        writer.image("tracks/track-0001.jpg", np.zeros((20, 20, 3), np.uint8))
        writer.manifest(manifest)
        assert not (tmp_path / "walk").exists()  # nothing visible under the final name before commit
        first = writer.commit()
    with ResultWriter(tmp_path, "walk") as writer:
        writer.manifest(manifest)
        second = writer.commit()
    assert (first.name, second.name) == ("walk", "walk-2")
    rows = list(csv.DictReader((first / "faces.csv").open()))
    assert list(rows[0]) == CSV_FIELDS and rows[0]["file"] == "tracks/track-0001.jpg"
    assert (first / "tracks" / "track-0001.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert not list(tmp_path.glob(PARTIAL_PREFIX + "*"))


def test_a_failed_extraction_leaves_nothing_and_partials_from_a_crash_are_removed(tmp_path):
    with pytest.raises(RuntimeError), ResultWriter(tmp_path, "walk") as writer:
        writer.image("tracks/track-0001.jpg", np.zeros((20, 20, 3), np.uint8))
        raise RuntimeError("decoder died")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".lock")] == []
    crashed = ResultWriter(tmp_path, "cam")  # as a kill -9 leaves it: never committed, never aborted
    assert remove_partials(tmp_path) == [crashed.tmp] and not crashed.tmp.exists()


def test_unsafe_stems_become_safe_folder_names(tmp_path):
    with ResultWriter(tmp_path, "../../etc/pass wd") as writer:
        writer.manifest(sample_manifest())
        out = writer.commit()
    assert out.parent == tmp_path and "/" not in out.name
