"""Events out, for real: mosquitto and an HTTP receiver, a recording dropped into a running appliance.

Issue #16: both channels get the same events; a broker that goes away gets them all when it is back;
a receiver answering 500 gets them on a later try; Home Assistant discovery says what HA expects; no
secret in the logs or on the page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil

import pytest

from appliance.events.model import Event, EventType, NewEvent
from appliance.service.queue.sqlite import SqliteJobStore
from tests.appliance_proc import ApplianceProcess
from tests.events.conftest import Broker, Subscriber, wait

pytestmark = pytest.mark.slow  # real service, broker and receiver

SECRET = "webhook-secret-never-shown-0123456789"
PASSWORD = "mqtt-password-never-shown-987"
PREFIX = "faces"

# Home Assistant's documented MQTT discovery keys (integrations sensor.mqtt, binary_sensor.mqtt, image.mqtt)
HA_COMMON = {
    "name",
    "unique_id",
    "object_id",
    "device",
    "availability_topic",
    "payload_available",
    "payload_not_available",
    "icon",
}
HA_KEYS = {
    "sensor": {"state_topic", "value_template", "unit_of_measurement", "state_class", "device_class"},
    "binary_sensor": {"state_topic", "value_template", "payload_on", "payload_off", "device_class"},
    "image": {"image_topic", "url_topic", "content_type", "image_encoding"},
}
HA_REQUIRED = {"sensor": {"state_topic"}, "binary_sensor": {"state_topic"}, "image": {"image_topic"}}
HA_DEVICE_KEYS = {"identifiers", "name", "manufacturer", "model", "sw_version", "configuration_url"}


def appliance(tmp_path, broker: Broker, receiver, password: str | None = None) -> ApplianceProcess:
    credentials = f"appliance:{password}@" if password else ""
    env = {
        "APPLIANCE_MQTT": f"mqtt://{credentials}127.0.0.1:{broker.port}/{PREFIX}",
        "APPLIANCE_WEBHOOKS": receiver.url,
        "APPLIANCE_WEBHOOK_SECRET": SECRET,
        "APPLIANCE_PUBLIC_URL": "https://faces.site.lan",
    }
    return ApplianceProcess(tmp_path / "data", env=env).start()


def test_a_recording_reaches_both_channels_and_home_assistant(tmp_path, videos, receiver):
    broker = Broker(tmp_path, password=PASSWORD).start()
    subscriber = Subscriber(broker.port, "appliance", PASSWORD).start()
    app = appliance(tmp_path, broker, receiver, password=PASSWORD)
    try:
        shutil.copy(videos / "carphone_pristine.mp4", app.data / "inbox" / "car.mp4")
        app.wait_idle(1)
        types = lambda events: sorted(e["type"] for e in events)  # noqa: E731
        wait(lambda: types(receiver.events()) == ["person.seen", "recording.done"], what="the webhook events")
        wait(lambda: types(subscriber.events(PREFIX)) == ["person.seen", "recording.done"], what="the MQTT events")
        assert {e["id"]: e for e in receiver.events()} == {e["id"]: e for e in subscriber.events(PREFIX)}
        done = next(e for e in receiver.events() if e["type"] == "recording.done")
        assert done["data"]["recording"] == "car.mp4" and done["data"]["people"] == 1
        assert done["data"]["link"].startswith("https://faces.site.lan/jobs/")
        seen = next(e for e in receiver.events() if e["type"] == "person.seen")
        assert seen["data"]["new"] is True and seen["data"]["face"].startswith("https://faces.site.lan/files/")
        for headers, body in receiver.requests:  # signed with the secret, over the exact body
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Appliance-Signature"] == expected
            assert headers["X-Appliance-Id"] == str(json.loads(body)["id"])
        assert subscriber.on(f"{PREFIX}/person/{seen['data']['person']}")
        wait(lambda: subscriber.on(f"{PREFIX}/latest_face"), what="the latest face")
        assert subscriber.on(f"{PREFIX}/latest_face")[-1][:2] == b"\xff\xd8"
        assert subscriber.on(f"{PREFIX}/status")[-1] == b"online"
        check_discovery(subscriber)
        state = json.loads(wait(lambda: subscriber.on(f"{PREFIX}/state"), what="the state")[-1])
        assert {"queue", "faces_today", "last_person", "healthy"} <= state.keys()
        check_no_secret(app)
        app.kill()  # kill -9: the broker says the box is offline (its Last Will)
        wait(lambda: subscriber.on(f"{PREFIX}/status")[-1] == b"offline", seconds=60, what="the Last Will")
    finally:
        app.close()
        subscriber.stop()
        broker.stop()


def check_discovery(subscriber: Subscriber) -> None:
    configs = {
        topic: json.loads(payload)
        for topic, payload, _ in subscriber.messages
        if topic.startswith("homeassistant/") and topic.endswith("/config")
    }
    components = sorted(topic.split("/")[1] for topic in configs)
    assert components == ["binary_sensor", "image", "sensor", "sensor", "sensor"], components
    for topic, config in configs.items():
        component = topic.split("/")[1]
        assert set(config) <= HA_COMMON | HA_KEYS[component], set(config) - HA_COMMON - HA_KEYS[component]
        assert HA_REQUIRED[component] <= set(config) and {"name", "unique_id", "device"} <= set(config)
        assert set(config["device"]) <= HA_DEVICE_KEYS and config["device"]["identifiers"]
        assert config["availability_topic"] == f"{PREFIX}/status"
    assert len({c["unique_id"] for c in configs.values()}) == len(configs)


def check_no_secret(app: ApplianceProcess) -> None:
    shown = app.log() + json.dumps(app.get("/api/status")) + app.get("/").decode()
    assert SECRET not in shown and PASSWORD not in shown


def test_a_broker_that_goes_away_gets_every_event_when_it_is_back(tmp_path, videos, broker, receiver):
    subscriber = Subscriber(broker.port).start()
    app = appliance(tmp_path, broker, receiver)
    try:
        shutil.copy(videos / "carphone_pristine.mp4", app.data / "inbox" / "first.mp4")
        wait(lambda: len(subscriber.events(PREFIX)) >= 2, what="the first recording's events")
        broker.stop()
        subscriber.messages.clear()
        shutil.copy(videos / "short_hamilton_clip.mp4", app.data / "inbox" / "second.mp4")
        app.wait_idle(2)
        mqtt = wait(
            lambda: [
                c
                for c in app.get("/api/status")["channels"]
                if c["name"].startswith("mqtt") and c["backlog"] > 0 and not c["connected"]
            ],
            what="a backlog",
        )
        waiting = mqtt[0]["backlog"]
        Broker.start(broker)  # the same port, a broker with nothing in it
        wait(lambda: len(subscriber.events(PREFIX)) >= waiting, seconds=90, what="the events after the restart")
        everything = {e["id"] for e in receiver.events()}
        after = {e["id"] for e in subscriber.events(PREFIX)}
        assert after == {i for i in everything if i > max(everything) - waiting}  # nothing lost, in order
        ids = [e["id"] for e in subscriber.events(PREFIX)]
        assert ids == sorted(ids)
    finally:
        app.close()
        subscriber.stop()


def test_a_receiver_answering_500_gets_the_event_later(tmp_path, videos, broker, receiver):
    receiver.failures = 2
    app = appliance(tmp_path, broker, receiver)
    try:
        shutil.copy(videos / "carphone_pristine.mp4", app.data / "inbox" / "car.mp4")
        wait(lambda: len(receiver.events()) >= 2, what="delivery after the 500s")
        assert receiver.answered_500 == 2
        assert sorted(e["type"] for e in receiver.events()) == ["person.seen", "recording.done"]
        webhook = next(c for c in app.get("/api/status")["channels"] if c["name"].startswith("webhook"))
        assert webhook["backlog"] == 0 and webhook["error"] is None
    finally:
        app.close()


def test_the_outbox_is_bounded_and_counts_what_it_drops(tmp_path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite", outbox_cap=100)
    store.register_channel("slow")
    store.emit([NewEvent(EventType.HEALTH, {"n": n}) for n in range(150)])
    pending = store.pending("slow", limit=1000)
    assert len(pending) == 100 and pending[0].data == {"n": 50} and isinstance(pending[0], Event)
    assert store.events_dropped() == 50
    store.delivered("slow", pending[9].id)
    assert store.channels()[0]["backlog"] == 90


def test_health_changes_are_told(tmp_path, videos, receiver):
    """A worker stuck on a file (SIGSTOP stands in for a hung decoder): degraded, then ok once it is replaced."""
    import os
    import signal

    # stalled after half the timeout, stopped at the timeout: the 10 s between outlast the 5 s health checks
    env = {"APPLIANCE_WEBHOOKS": receiver.url, "APPLIANCE_STALL_TIMEOUT_S": "20"}
    app = ApplianceProcess(tmp_path / "data", env=env).start()
    try:
        shutil.copy(videos / "facenet_pytorch_video.mp4", app.data / "inbox" / "walk.mp4")
        app.wait_for(lambda: any(j["state"] == "processing" for j in app.jobs()), what="processing")
        for pid in app.worker_pids():
            os.kill(pid, signal.SIGSTOP)
        health = lambda: [e["data"] for e in receiver.events() if e["type"] == "health"]  # noqa: E731
        wait(lambda: any(h["status"] == "degraded" for h in health()), seconds=60, what="a degraded event")
        degraded = next(h for h in health() if h["status"] == "degraded")
        assert any("stalled" in problem for problem in degraded["problems"])
        wait(lambda: health()[-1]["status"] == "ok", seconds=60, what="back to ok")
        assert health()[-1]["previous"] == "degraded"
    finally:
        app.close()
