"""Footage moves: never overwrite, never lose the source, across file systems too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.service.footage import move_no_clobber, reason_path, unique_path, write_reason


def test_a_clash_gets_a_number_and_nothing_is_overwritten(tmp_path):
    target = tmp_path / "done"
    target.mkdir()
    (target / "a.mp4").write_bytes(b"first")
    (target / "a-2.mp4").write_bytes(b"second")
    source = tmp_path / "a.mp4"
    source.write_bytes(b"third")
    moved = move_no_clobber(source, target)
    assert moved == target / "a-3.mp4" and moved.read_bytes() == b"third" and not source.exists()
    assert (target / "a.mp4").read_bytes() == b"first" and (target / "a-2.mp4").read_bytes() == b"second"
    assert unique_path(target, "a.mp4") == target / "a-4.mp4"


def test_a_new_name_can_be_given(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"x")
    moved = move_no_clobber(source, tmp_path / "processing", "cam1__in.mp4")
    assert moved == tmp_path / "processing" / "cam1__in.mp4" and moved.read_bytes() == b"x"


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no second file system (/dev/shm) on this machine")
def test_across_file_systems_the_copy_is_complete_before_the_source_goes(tmp_path):
    other = Path(os.environ.get("TMPFS_DIR", "/dev/shm"))
    if os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("/dev/shm is on the same file system here")
    source = other / f"appliance-test-{os.getpid()}.mp4"
    payload = os.urandom(3 << 20)
    source.write_bytes(payload)
    try:
        moved = move_no_clobber(source, tmp_path / "processing")
        assert moved.read_bytes() == payload and not source.exists()
        assert not list((tmp_path / "processing").glob(".*.copying"))
    finally:
        source.unlink(missing_ok=True)


def test_the_reason_lies_beside_the_footage(tmp_path):
    footage = tmp_path / "bad.mp4"
    footage.write_bytes(b"x")
    path = write_reason(footage, "not a readable video\n\n")
    assert path == reason_path(footage) == tmp_path / "bad.mp4.error.txt"
    assert path.read_text() == "not a readable video\n"


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no second file system (/dev/shm) on this machine")
def test_across_file_systems_the_target_is_synced_before_the_source_is_deleted(tmp_path):
    """Issue #12, item 8: a power cut between the two must leave the footage somewhere."""
    import shutil
    import subprocess
    import sys

    if shutil.which("strace") is None:
        pytest.fail("strace is not installed (make test installs it: scripts/system-deps.sh)")
    source = Path("/dev/shm") / f"appliance-sync-{os.getpid()}.mp4"
    source.write_bytes(b"footage" * 1000)
    log = tmp_path / "strace.log"
    script = (
        "import sys; from pathlib import Path; from appliance.service.footage import move_no_clobber; "
        "move_no_clobber(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    try:
        subprocess.run(
            [
                "strace",
                "-f",
                "-y",
                "-qq",
                "-e",
                "trace=fsync,unlink,unlinkat,rename",
                "-o",
                str(log),
                sys.executable,
                "-c",
                script,
                str(source),
                str(tmp_path / "done"),
            ],
            check=True,
        )
    finally:
        source.unlink(missing_ok=True)
    lines = log.read_text().splitlines()
    removed = next(i for i, line in enumerate(lines) if "unlink" in line and str(source) in line)
    before = "\n".join(lines[:removed])
    assert ".mp4.copying>" in before and f"<{tmp_path / 'done'}>" in before  # the copy, then its folder
    assert any("fsync" in line and "/dev/shm" in line for line in lines[removed:])  # and the source's folder
