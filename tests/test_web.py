"""The web API served for real (waitress on an ephemeral port) over a real job store."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from waitress import create_server

from appliance.config import ConfigError, Settings, load
from appliance.jobs import SqliteJobStore
from appliance.web import create_app

TOKEN = "correct horse battery staple"


def serve(settings: Settings, store):
    server = create_server(create_app(settings, store), host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    return server, f"http://127.0.0.1:{server.effective_port}"


@pytest.fixture
def populated(tmp_path):
    """A data folder with a finished job (real result files), a failed job and a secret beside the outbox."""
    data = tmp_path / "data"
    settings = Settings(data=str(data))
    outbox = settings.outbox_dir
    result = outbox / "walk"
    (result / "faces").mkdir(parents=True)
    (result / "faces" / "track-0001.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    manifest = {"tracks": [{"id": 1, "first_s": 0.0, "last_s": 1.0, "detections": 3,
                            "best": {"file": "faces/track-0001.jpg", "time_s": 0.4, "confidence": 0.99}}]}  # fmt: skip
    (result / "manifest.json").write_text(json.dumps(manifest))
    (result / "faces.csv").write_text("track,file\n1,faces/track-0001.jpg\n")
    (tmp_path / "data" / "secret.txt").write_text("not for the web")
    os.symlink(tmp_path / "data" / "secret.txt", outbox / "link.txt")
    store = SqliteJobStore(settings.state_dir / "jobs.sqlite")
    done = store.add("walk.mp4", str(data / "state/processing/walk.mp4"), "a" * 64, 100)
    store.claim(1)
    store.finish(done.id, str(data / "state/done/walk.mp4"), str(result), 1, 21)
    failed_path = settings.state_dir / "failed" / "bad <script>.mp4"
    failed_path.parent.mkdir(parents=True, exist_ok=True)
    failed_path.write_bytes(b"junk")
    bad = store.add("bad <script>.mp4", str(failed_path), "b" * 64, 4)
    store.claim(1)
    store.fail(bad.id, str(failed_path), "bad <script>.mp4: not a readable video")
    return settings, store, done, bad


def get(url, headers=None, opener=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        response = (opener or urllib.request.build_opener()).open(request, timeout=10)
        return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_json_shapes_metrics_and_files_on_loopback(populated):
    settings, store, done, bad = populated
    server, base = serve(settings, store)
    try:
        status, _, body = get(base + "/api/status")
        data = json.loads(body)
        assert status == 200
        assert data["queue"] == {"queued": 0, "processing": 0, "done": 1, "failed": 1, "duplicate": 0}
        assert data["gallery"][0]["url"] == "/files/walk/faces/track-0001.jpg"
        jobs = json.loads(get(base + "/api/jobs")[2])["jobs"]
        for job in jobs:
            assert {"id", "name", "state", "progress", "error", "output", "faces"} <= job.keys()
            assert 0 <= job["progress"] <= 1
        one = json.loads(get(base + f"/api/jobs/{done.id}")[2])
        assert one["output"] == "walk" and one["faces"] == 1 and one["tracks"][0]["id"] == 1
        assert get(base + "/api/jobs/999")[0] == 404
        metrics = {m.name: m for m in text_string_to_metric_families(get(base + "/metrics")[2].decode())}
        by_state = {s.labels["state"]: s.value for s in metrics["appliance_jobs"].samples}
        assert by_state["done"] == 1 and by_state["failed"] == 1
        assert metrics["appliance_queue_depth"].samples[0].value == 0
        assert metrics["appliance_frames_analysed"].samples[0].value == 21
        assert {"appliance_faces_found", "appliance_processing_seconds"} <= metrics.keys()
        assert json.loads(get(base + "/healthz")[2])["status"] == "ok"
        status, headers, body = get(base + "/files/walk/faces/track-0001.jpg")
        assert status == 200 and body.startswith(b"\xff\xd8")
        page = get(base + f"/jobs/{bad.id}")[2].decode()
        assert "bad &lt;script&gt;.mp4" in page and "<script>.mp4" not in page  # names are escaped
    finally:
        server.close()


@pytest.mark.parametrize(
    "path",
    ["/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/walk/../../secret.txt", "/files//etc/passwd",
     "/files/link.txt", "/files/%2Fetc%2Fpasswd", "/files/.lock", "/files/walk", "/files/walk/..%2F..%2Fsecret.txt"],
)  # fmt: skip
def test_traversal_attempts_are_refused(populated, path):
    settings, store, _, _ = populated
    server, base = serve(settings, store)
    try:
        status, _, body = get(base + path)
        assert status in (400, 404) and b"not for the web" not in body
    finally:
        server.close()


def test_off_loopback_everything_but_healthz_needs_the_token(populated):
    settings, store, _, bad = populated
    exposed = Settings(data=settings.data, host="0.0.0.0", token=TOKEN)
    server, base = serve(exposed, store)
    try:
        for path in ("/api/status", "/api/jobs", "/metrics", "/files/walk/faces/track-0001.jpg"):
            assert get(base + path)[0] == 401, path
            assert get(base + path, {"Authorization": "Bearer wrong"})[0] == 401, path
            assert get(base + path, {"Authorization": f"Bearer {TOKEN}"})[0] == 200, path
        status, headers, _ = get(base + "/", opener=urllib.request.build_opener(NoRedirect()))
        assert status == 302 and "/login" in headers["Location"]
        assert get(base + "/healthz")[0] == 200
        # the browser way: sign in, then retry with the page's CSRF token
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        wrong = urllib.parse.urlencode({"token": "nope"}).encode()
        assert post(browser, base + "/login", wrong)[0] == 403
        assert post(browser, base + "/login", urllib.parse.urlencode({"token": TOKEN}).encode())[0] == 200
        page = get(base + f"/jobs/{bad.id}", opener=browser)[2].decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        assert post(browser, base + f"/jobs/{bad.id}/retry", b"csrf=forged")[0] == 403
        assert store.get(bad.id).state == "failed"
        assert post(browser, base + f"/jobs/{bad.id}/retry", urllib.parse.urlencode({"csrf": csrf}).encode())[0] == 200
        job = store.get(bad.id)
        assert job.state == "queued" and Path(job.path).parent.name == "processing" and Path(job.path).exists()
    finally:
        server.close()


def test_binding_off_loopback_without_a_token_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="'token'"):
        load(overrides={"host": "0.0.0.0"}, environ={}, serving=True)
    assert load(overrides={"host": "0.0.0.0"}, environ={"APPLIANCE_TOKEN": "t"}, serving=True).token == "t"
    assert load(overrides={"host": "0.0.0.0"}, environ={}).host == "0.0.0.0"  # extract serves nothing


def test_settings_layers_and_errors_name_the_setting(tmp_path):
    config = tmp_path / "appliance.toml"
    config.write_text('min_face = 30\nfps = "2"\nworkers = 2\n')
    settings = load(config, overrides={"workers": 3}, environ={"APPLIANCE_FPS": "all"})
    assert (settings.min_face, settings.fps, settings.workers) == (30.0, "all", 3)
    assert settings.analysis_fps is None
    with pytest.raises(ConfigError, match="'min_face'"):
        load(overrides={"min_face": 8}, environ={})
    with pytest.raises(ConfigError, match="APPLIANCE_WORKERS"):
        load(environ={"APPLIANCE_WORKERS": "many"})
    config.write_text("minface = 3\n")
    with pytest.raises(ConfigError, match="unknown setting 'minface'"):
        load(config, environ={})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post(opener, url, data):
    try:
        response = opener.open(urllib.request.Request(url, data=data, method="POST"), timeout=10)
        return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
