"""The worker's second line against a writer that pauses longer than ``settle_s`` (issue 23, finding 6).

The first line (the inbox takes no file open for writing) cannot see a writer that holds no open file on
the box: one writing over NFS, or another user's without ``CAP_LEASE``. Such a writer goes on writing to
the taken footage: the hard link into ``processing/`` is the same inode. A real writer process does so
here: it writes half an MPEG-TS recording (which decodes as far as it goes), closes it, keeps a second
link to it as NFS keeps a file handle, and writes the rest once the file has been taken (at once, most
likely before the job began) or once its job is processing.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.appliance_proc import ApplianceProcess

pytestmark = pytest.mark.slow  # a real service and its worker

WRITER = """
import os, sys, time
data = open(sys.argv[1], "rb").read()
inbox_name, handle, when = sys.argv[2:5]
with open(inbox_name, "wb") as out:
    out.write(data[: len(data) // 2])
os.link(inbox_name, handle)  # the writer's own way back to the file, as an NFS client's file handle
while os.path.exists(inbox_name):  # paused until the service has taken the file
    time.sleep(0.01)
if when == "processing":
    print("taken", flush=True)
    sys.stdin.readline()  # paused until the test has seen the job processing
with open(handle, "ab") as out:  # the rest goes to the taken footage
    out.write(data[len(data) // 2 :])
"""


@pytest.mark.parametrize("when", ["taken", "processing"])
def test_footage_written_to_after_it_was_taken_fails_and_no_half_result_is_published(tmp_path, videos, when):
    recording = tmp_path / "slow.ts"
    convert = ["ffmpeg", "-v", "error", "-i", str(videos / "facenet_pytorch_video.mp4"), "-c", "copy"]
    subprocess.run([*convert, "-f", "mpegts", str(recording)], check=True)
    app = ApplianceProcess(tmp_path / "data", {"APPLIANCE_PEOPLE": "false"}).start()
    try:
        (tmp_path / "writer").mkdir()
        handle = tmp_path / "writer" / "slow.ts"
        cmd = [sys.executable, "-c", WRITER, str(recording), str(app.data / "inbox" / "slow.ts"), str(handle), when]
        writer = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if when == "processing":
            assert writer.stdout is not None and writer.stdout.readline() == "taken\n"
            app.wait_for(lambda: [j for j in app.jobs() if j["state"] == "processing"], 120, "the job processing")
        writer.communicate("go on\n", timeout=120)
        assert writer.returncode == 0
        (job,) = app.wait_idle(1)
        assert job["state"] == "failed", job
        assert "changed after it was taken" in job["error"] and "No result was published" in job["error"], job
        assert [p.name for p in (app.data / "outbox").iterdir() if not p.name.startswith(".")] == []
        kept = app.data / "state" / "failed" / "slow.ts"
        assert kept.read_bytes() == recording.read_bytes()  # whole: the rest of the writes landed on it
        assert "changed after it was taken" in (kept.parent / "slow.ts.error.txt").read_text()
    finally:
        app.close()
