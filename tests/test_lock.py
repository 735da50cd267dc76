"""The lock files are what scripts/lock.sh makes of pyproject.toml today: a changed dependency fails here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # asks the package index

LOCKS = ("lite", "lite-tf", "dev")


def test_the_lock_files_are_up_to_date(tmp_path):
    for name in LOCKS:
        shutil.copy(REPO / "requirements" / f"{name}.txt", tmp_path / f"{name}.txt")  # pins preferred, as committed
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv is not installed (it is in the dev extra)"
    env = {**os.environ, "OUT": str(tmp_path), "UV": uv}
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "lock.sh")], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in LOCKS:
        committed = (REPO / "requirements" / f"{name}.txt").read_text()
        assert (tmp_path / f"{name}.txt").read_text() == committed, (
            f"requirements/{name}.txt is stale: run scripts/lock.sh (or make lock) and commit the result"
        )


def test_every_pin_carries_hashes():
    for name in LOCKS:
        text = (REPO / "requirements" / f"{name}.txt").read_text()
        pins = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
        assert pins and all(line.endswith("\\") for line in pins), f"{name}.txt: a pin without hashes"
