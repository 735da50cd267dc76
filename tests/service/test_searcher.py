"""The search process decodes uploaded photos: like a worker, it must hold no secret (issue 23, #3).

A real process makes a :class:`Searcher` from settings that hold the page's token and the events'
secrets (from its environment, as a careless env file gives them) and runs one search; the test then
reads the search process's environment and every writable page of its memory, where its settings are.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.test_fleet_hardening import SECRETS_ENV

pytestmark = pytest.mark.slow  # a real search process, with its detector and recogniser

PROBE = """
import sys, cv2, numpy as np
from pathlib import Path
from appliance.service.searcher import Searcher
from appliance.settings import load

searcher = Searcher(load())
assert load().web.token, "the probe's settings must hold the token"
searcher.faces(cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))[1].tobytes())
print(searcher._process.pid, flush=True)
sys.stdin.read()  # until the test has looked
searcher.stop()
"""


def writable_memory(pid: int) -> bytes:
    """Every readable, writable mapping of the process: heap, stacks and anonymous memory."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            match = re.match(r"([0-9a-f]+)-([0-9a-f]+) rw", line)
            if not match or line.rstrip().endswith("[vvar]"):
                continue
            start, end = int(match.group(1), 16), int(match.group(2), 16)
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except OSError:
                continue
    return b"".join(chunks)


def test_the_search_process_has_no_secret_in_its_environment_or_its_settings():
    env = {"PATH": "/usr/bin:/bin", "APPLIANCE_BACKEND": "tflite", **SECRETS_ENV}
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert probe.stdout is not None
        pid = int(probe.stdout.readline() or 0)
        assert pid, "the probe did not start a search process"
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        memory = writable_memory(pid)
        assert len(memory) > 1 << 20  # its memory was read, not refused
        for name, value in SECRETS_ENV.items():
            secret = value.split("@")[0].encode()  # a URL's credentials
            assert name.encode() not in environ and secret not in environ, name
            assert secret not in memory, f"{name} is in the search process's memory"
    finally:
        probe.communicate(timeout=60)
    assert probe.returncode == 0
