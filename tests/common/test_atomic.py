"""A file another writer makes (PyAV, ffmpeg) is published whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.common.atomic import atomic_output


def test_what_the_writer_wrote_replaces_the_target_and_no_hidden_file_is_left(tmp_path: Path):
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"old")
    with atomic_output(target, suffix=".mp4") as writing:
        assert writing.parent == tmp_path and writing.name.startswith(".") and writing.suffix == ".mp4"
        writing.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing shows before the block ends
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_a_failed_writer_leaves_the_target_as_it_was_and_its_half_file_removed(tmp_path: Path):
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="encoder died"), atomic_output(target) as writing:
        writing.write_bytes(b"half")
        raise RuntimeError("encoder died")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
