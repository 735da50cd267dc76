"""The page's routes through Flask's test client, over a real job store and real result files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from appliance.web import create_app
from tests.web.conftest import TOKEN, settings_for


@pytest.fixture
def client(populated):
    app = create_app(settings_for(populated.data), populated.store)
    return app.test_client()


@pytest.fixture
def exposed(populated):
    """Bound off loopback, with a token."""
    app = create_app(settings_for(populated.data, host="0.0.0.0", token=TOKEN), populated.store)
    return app.test_client()


def test_status_jobs_and_one_job(client, populated):
    data = client.get("/api/status").get_json()
    counts = {"received": 0, "queued": 0, "processing": 0, "done": 1, "failed": 1, "duplicate": 0, "split": 0}
    assert data["queue"] == counts
    assert data["gallery"][0]["url"] == "/files/walk/faces/person-0001.jpg"
    jobs = client.get("/api/jobs").get_json()["jobs"]
    assert [j["state"] for j in jobs] == ["failed", "done"]
    for job in jobs:
        assert {"id", "name", "state", "progress", "error", "output", "faces"} <= job.keys()
        assert "path" not in job  # where footage lies on the box is not the page's business
    assert [j["id"] for j in client.get("/api/jobs?state=done").get_json()["jobs"]] == [populated.done.id]
    assert client.get("/api/jobs?state=bogus").status_code == 400
    assert len(client.get("/api/jobs?limit=1").get_json()["jobs"]) == 1
    one = client.get(f"/api/jobs/{populated.done.id}").get_json()
    assert one["output"] == "walk" and one["faces"] == 1 and one["tracks"][0]["best"]["time_s"] == 0.4
    assert client.get("/api/jobs/999").status_code == 404


def test_metrics_and_health(client):
    metrics = {m.name: m for m in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))}
    by_state = {s.labels["state"]: s.value for s in metrics["appliance_jobs"].samples}
    assert by_state["done"] == 1 and by_state["failed"] == 1
    assert metrics["appliance_queue_depth"].samples[0].value == 0
    assert metrics["appliance_frames_analysed"].samples[0].value == 21
    assert {"appliance_faces_found", "appliance_processing_seconds"} <= metrics.keys()
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_pages_escape_names_and_link_the_results(client, populated):
    page = client.get(f"/jobs/{populated.failed.id}").get_data(as_text=True)
    assert "bad &lt;script&gt;.mp4" in page and "<script>.mp4" not in page
    page = client.get(f"/jobs/{populated.done.id}").get_data(as_text=True)
    assert "/files/walk/manifest.json?download=1" in page and "/files/walk/tracks/track-0001.jpg" in page
    assert client.get("/jobs/999").status_code == 404
    response = client.get("/")
    assert response.status_code == 200 and response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_files_are_served_from_results_only(client):
    response = client.get("/files/walk/tracks/track-0001.jpg")
    assert response.status_code == 200 and response.data.startswith(b"\xff\xd8")
    download = client.get("/files/walk/manifest.json?download=1")
    assert "attachment" in download.headers["Content-Disposition"]


@pytest.mark.parametrize(
    "path",
    [
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/walk/../../secret.txt",
        "/files//etc/passwd",
        "/files/link.txt",
        "/files/%2Fetc%2Fpasswd",
        "/files/.lock",
        "/files/walk",
        "/files/walk/..%2F..%2Fsecret.txt",
    ],
)
def test_traversal_attempts_are_refused(client, path):
    response = client.get(path, follow_redirects=True)  # "//" is redirected to "/" first
    assert response.status_code in (400, 404) and b"not for the web" not in response.data


@pytest.mark.parametrize(
    "link",
    ["walk/tracks/track-0002.jpg", "walk/manifest-copy.json", "walk/faces.d/key.jpg", "elsewhere/key.jpg"],
)
def test_a_symlink_with_a_result_suffix_is_not_followed(client, populated, link):
    """Links placed inside the outbox with the suffixes results have (a crop, a manifest, a folder of
    crops, a whole result folder) to private files elsewhere: refused for being links, not for a name."""
    private = populated.data / "private"
    private.mkdir()
    for name in ("key.jpg", "notes.json"):
        (private / name).write_bytes(b"\xff\xd8\xff\xe0 not for the web")
    outbox = settings_for(populated.data).service.outbox_dir
    os.symlink(private / "key.jpg", outbox / "walk" / "tracks" / "track-0002.jpg")
    os.symlink(private / "notes.json", outbox / "walk" / "manifest-copy.json")
    os.symlink(private, outbox / "walk" / "faces.d", target_is_directory=True)
    os.symlink(private, outbox / "elsewhere", target_is_directory=True)
    assert (outbox / link).read_bytes().endswith(b"not for the web")  # the link itself reaches the secret
    response = client.get(f"/files/{link}")
    assert response.status_code == 404 and b"not for the web" not in response.data
    assert client.get("/files/walk/tracks/track-0001.jpg").status_code == 200  # its neighbour is served


def test_off_loopback_everything_but_healthz_needs_the_token(exposed):
    for path in ("/api/status", "/api/jobs", "/metrics", "/files/walk/tracks/track-0001.jpg"):
        assert exposed.get(path).status_code == 401, path
        assert exposed.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
        assert exposed.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200, path
    response = exposed.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert exposed.get("/healthz").status_code == 200


def test_the_live_preview_needs_the_token_too(exposed, populated):
    """A worker's live preview shows the footage being analysed: off loopback, only with the token (or
    a signed-in session), and only for a job that has one."""
    from appliance.service.layout import StateLayout

    preview = StateLayout(settings_for(populated.data).service.state_dir).preview(populated.done.id)
    preview.parent.mkdir(parents=True, exist_ok=True)
    preview.write_bytes(b"\xff\xd8\xff\xe0 a frame being analysed")
    path = f"/preview/{populated.done.id}.jpg"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = exposed.get(path, headers=headers)
        assert response.status_code == 401 and b"analysed" not in response.data
    response = exposed.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.data.endswith(b"analysed")
    assert response.headers["Cache-Control"] == "no-store"
    assert exposed.post("/login", data={"token": TOKEN}).status_code == 302
    assert exposed.get(path).status_code == 200  # the page's own session
    assert exposed.get(f"/preview/{populated.failed.id}.jpg").status_code == 404


def test_sign_in_then_retry_with_the_pages_csrf_token(exposed, populated):
    assert exposed.post("/login", data={"token": "nope"}).status_code == 403
    assert exposed.post("/login", data={"token": TOKEN}).status_code == 302
    page = exposed.get(f"/jobs/{populated.failed.id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    assert exposed.post(f"/jobs/{populated.failed.id}/retry", data={"csrf": "forged"}).status_code == 403
    assert populated.store.get(populated.failed.id).state == "failed"
    response = exposed.post(f"/jobs/{populated.failed.id}/retry", data={"csrf": csrf})
    assert response.status_code == 302
    job = populated.store.get(populated.failed.id)
    assert job.state == "queued" and Path(job.path).parent.name == "processing" and Path(job.path).exists()
    assert not Path(job.path).with_name(Path(job.path).name + ".error.txt").exists()
    again = exposed.post(f"/jobs/{populated.failed.id}/retry", data={"csrf": csrf})
    assert again.status_code == 409 and "not failed" in json.loads(again.data)["error"]
    assert exposed.post(f"/jobs/{populated.done.id}/retry", data={"csrf": csrf}).status_code == 409
