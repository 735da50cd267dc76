"""Native chatter is kept off the log while nets load, from any thread, and nothing else is lost with it:
a log line written while another thread loads a net reaches stderr, and so does everything after two
lanes load nets at once (each restoring fd 2 on its own could leave it on a closed file)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import logging, os, threading, time
from appliance.common.logs import setup_logging
from appliance.detect.quiet import native_stderr_captured

setup_logging("INFO")
log = logging.getLogger("appliance.test")
inside = threading.Barrier(3)

def load(name):
    with native_stderr_captured():
        os.write(2, f"NATIVE CHATTER {name}\n".encode())
        inside.wait()
        time.sleep(0.2 if name == "a" else 0.4)

lanes = [threading.Thread(target=load, args=(n,)) for n in "ab"]
for lane in lanes:
    lane.start()
inside.wait()
log.info("logged while nets load")
for lane in lanes:
    lane.join()
log.info("logged after")
os.write(2, b"fd 2 is stderr again\n")
try:
    with native_stderr_captured():
        os.write(2, b"WHY IT FAILED\n")
        raise RuntimeError("load failed")
except RuntimeError:
    pass
"""


def test_the_log_survives_nets_loading_in_two_lanes_at_once():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    err = done.stderr
    assert "logged while nets load" in err and "logged after" in err
    assert "fd 2 is stderr again" in err
    assert "NATIVE CHATTER" not in err
    assert "WHY IT FAILED" in err  # a failed load says why
