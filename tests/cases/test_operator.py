"""What the operator is told: a recording altered since analysis, appearances left out, bad numbers
and times, a zip aimed into the appliance's own folders, and a stick that has no hard links."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from appliance.cases.appearances import CaseError, parse_time
from appliance.cases.export import CaseRequest, export_case
from appliance.cases.package import sweep_leftovers, write_zip
from appliance.cli import main

from .conftest import BUSY, HAMILTON_AS_RECORDED, Appliance

BUSY_RESULT = Path(BUSY).stem
HAMILTON_RESULT = Path(HAMILTON_AS_RECORDED).stem


def data_args(appliance: Appliance) -> list[str]:
    return ["--data", str(appliance.outbox.parent), "-q"]


@pytest.mark.slow
def test_an_altered_recording_is_reported_as_altered_with_both_hashes(appliance, tmp_path, capsys):
    footage = tmp_path / "footage"
    footage.mkdir()
    altered = footage / BUSY
    content = bytearray((appliance.done / BUSY).read_bytes())
    content[len(content) // 2] ^= 0xFF  # one byte flipped, same size
    altered.write_bytes(bytes(content))
    now = hashlib.sha256(content).hexdigest()
    analysed = appliance.manifests[BUSY_RESULT].source.sha256
    person = appliance.person(BUSY_RESULT, 1)
    target = tmp_path / "case.zip"
    code = main(["export", str(person), "-o", str(target), "--footage", str(footage), *data_args(appliance)])
    err = capsys.readouterr().err
    assert code == 4 and "ALTERED" in err and now in err and analysed in err and "gone" not in err
    record = json.loads(zipfile.ZipFile(target).read("case.json"))
    [source] = record["sources"]
    assert source["altered"] is True and source["found_sha256"] == now and source["sha256"] == analysed
    assert "altered" in source["missing"] and not source["verified"]
    assert all(a["clip"] is None for a in record["appearances"])


@pytest.mark.slow
def test_an_appearance_left_out_makes_the_exit_status_3(appliance, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(appliance.outbox, data / "outbox", ignore=shutil.ignore_patterns(HAMILTON_RESULT))
    (data / "state").mkdir()
    with sqlite3.connect(appliance.outbox.parent / "state" / "people.sqlite") as index:  # WAL: a copy would lose rows
        index.backup(sqlite3.connect(data / "state" / "people.sqlite"))
    people = [str(appliance.person(BUSY_RESULT, 3)), str(appliance.person(HAMILTON_RESULT, 1))]
    args = ["--footage", str(appliance.done), "--redact", "none", "--pad-s", "0", "--data", str(data), "-q"]
    assert main(["export", *people, "-o", str(tmp_path / "case.zip"), *args]) == 3
    out, err = capsys.readouterr()
    assert "1 left out" in out and "gone from the outbox" in err


@pytest.mark.slow  # the appliance fixture runs the pipeline on two clips
def test_bad_numbers_times_and_targets_are_refused_before_any_work(appliance, tmp_path, capsys):
    person = str(appliance.person(HAMILTON_RESULT, 1))
    for pad in ("nan", "inf", "-1"):
        with pytest.raises(SystemExit) as stopped:
            main(["export", person, "-o", str(tmp_path / "x.zip"), "--pad-s", pad, *data_args(appliance)])
        assert stopped.value.code == 2 and "seconds" in capsys.readouterr().err
    with pytest.raises(CaseError, match="padding"):
        export_case(CaseRequest((1,), pad_s=float("nan")), appliance.index, appliance.outbox, [], tmp_path / "y.zip")
    mixed = ["--from", "2026-11-27T14:00+00:00", "--to", "2026-11-27T15:00"]
    assert main(["export", person, "-o", str(tmp_path / "x.zip"), *mixed, *data_args(appliance)]) == 1
    assert "time zone" in capsys.readouterr().err
    assert parse_time("2026-11-27T14:00+01:00") is not None
    for inside in (appliance.outbox / "x.zip", appliance.done / "x.zip", appliance.outbox.parent / "inbox" / "x.zip"):
        inside.parent.mkdir(parents=True, exist_ok=True)
        assert main(["export", person, "-o", str(inside), *data_args(appliance)]) == 1
        assert "appliance's own folders" in capsys.readouterr().err and not inside.exists()
    assert not list(tmp_path.glob("*.zip"))


def test_a_zip_is_published_where_there_are_no_hard_links(tmp_path, monkeypatch):
    folder = tmp_path / "case"
    folder.mkdir()
    (folder / "case.json").write_text("{}")

    def no_links(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")  # as vfat and exfat answer link()

    monkeypatch.setattr(os, "link", no_links)
    target = write_zip(folder, tmp_path / "case.zip")
    assert zipfile.ZipFile(target).namelist() == ["case.json"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(FileExistsError):
        write_zip(folder, target)  # never over an existing zip, links or not


def test_what_a_killed_export_left_is_removed_and_a_running_ones_kept(tmp_path):
    dead = 2**22 + 12345  # above any pid_max a box runs with: no such process
    left = tmp_path / f".case-{dead}-k2j4"
    (left / "clips").mkdir(parents=True)
    (left / "clips" / ".001-person-1.mp4.writing").write_bytes(b"footage")
    partial = tmp_path / f".case.zip.partial-{dead}"
    partial.write_bytes(b"zip")
    running = tmp_path / f".case-{os.getpid()}-abcd"
    running.mkdir()
    mine = tmp_path / "notes.txt"
    mine.write_text("kept")
    assert sorted(p.name for p in sweep_leftovers(tmp_path)) == sorted([left.name, partial.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, mine.name])
