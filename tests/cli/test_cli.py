"""The ``appliance`` command as a person runs it: a subprocess, its exit status, stdout and stderr."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.clips import bad_inputs


def appliance(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "appliance.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def test_cli_reports_bad_inputs_and_still_processes_the_others(videos, tmp_path):
    bad = bad_inputs(tmp_path, videos)
    good = tmp_path / "good.mp4"
    shutil.copy(videos / "carphone_pristine.mp4", good)
    out = tmp_path / "out"
    proc = appliance(
        "extract", "-q", "--backend", "tflite", "-o", str(out), str(bad["empty.mp4"]), str(good), str(bad["notes.mp4"])
    )
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines() == [str(out / "good")]
    assert "empty.mp4: empty file" in proc.stderr and "notes.mp4: not a readable video" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "moov atom" not in proc.stderr  # FFmpeg's own noise is silenced


def test_version_and_config_load_no_opencv_numpy_or_nets():
    probe = (
        "import sys; from appliance.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "main(['config'])\n"
        "heavy = ('cv2', 'numpy', 'tensorflow', 'ai_edge_litert')\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("appliance ")
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_config_says_where_each_value_came_from(tmp_path):
    config = tmp_path / "appliance.toml"
    config.write_text("min_face = 30\n[extract]\nmargin = 0.3\n[retention]\ndone_days = 7\n")
    env = {"PATH": "/usr/bin:/bin", "APPLIANCE_WORKERS": "2", "APPLIANCE_TOKEN": "a-secret-token-never-printed"}
    proc = appliance("config", "--config", str(config), "--fps", "all", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    table = json.loads(proc.stdout)
    assert table["min_face"] == {"value": "30", "source": f"file {config}"}
    assert table["margin"] == {"value": "0.3", "source": f"file {config}"}
    assert table["retention_done_days"] == {"value": "7", "source": f"file {config}"}
    assert table["workers"] == {"value": "2", "source": "APPLIANCE_WORKERS"}
    assert table["fps"] == {"value": "all", "source": "--fps"}
    assert table["backend"] == {"value": "auto", "source": "default"}
    assert table["token"]["source"] == "APPLIANCE_TOKEN"
    assert "a-secret-token-never-printed" not in proc.stdout + proc.stderr


def test_an_invalid_setting_stops_with_its_name_and_source(tmp_path):
    proc = appliance("extract", "-o", str(tmp_path), "--min-face", "8", str(tmp_path / "x.mp4"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "appliance: setting 'min_face' from --min-face: input should be greater than or equal to 12 (got '8')"
    )
    env = {"PATH": "/usr/bin:/bin", "APPLIANCE_HOST": "0.0.0.0"}
    proc = appliance("serve", "--data", str(tmp_path), env=env)
    assert proc.returncode == 2 and "setting 'token'" in proc.stderr and "not loopback" in proc.stderr


def test_eval_cli_prints_one_json_object(faces_dev):
    cmd = [
        sys.executable,
        "-m",
        "appliance.cli",
        "eval",
        "--images",
        str(faces_dev),
        "--annotations",
        str(faces_dev / "annotations.json"),
        "--backend",
        "tflite",
        "--limit",
        "12",
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert {"recall", "precision", "faces", "detections", "subsets"} <= result.keys()
    assert 0 < result["recall"] <= 1 and 0 < result["precision"] <= 1
    assert set(result["subsets"]) == {"wider_easy", "wider_medium", "wider_hard"}
