"""Events to an MQTT broker (paho-mqtt), with Home Assistant MQTT discovery.

Topics under the prefix: ``<prefix>/events`` (every event, QoS 1), ``<prefix>/person/<id>`` (a
person's sightings), ``<prefix>/status`` (``online``/``offline``, retained; the Last Will says
``offline`` if the box dies), ``<prefix>/state`` (queue, faces today, last person seen, healthy;
retained) and ``<prefix>/latest_face`` (the newest face crop as a JPEG, retained). An event counts as
delivered when the broker has acknowledged it (PUBACK).
"""

from __future__ import annotations

import json
import logging
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from .. import __version__
from ..common.box import box_name
from .model import Event, EventType

log = logging.getLogger("appliance.events.mqtt")
PUBLISH_TIMEOUT_S = 5.0
KEEPALIVE_S = 30
DEFAULT_PREFIX = "appliance"
ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    prefix: str

    @classmethod
    def parse(cls, url: str) -> Broker:
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        prefix = parts.path.strip("/") or DEFAULT_PREFIX
        return cls(
            parts.hostname or "localhost",
            parts.port or (8883 if tls else 1883),
            tls,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
            prefix,
        )

    @property
    def where(self) -> str:
        """The broker as a person may see it: no credentials."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}/{self.prefix}"


def node_id(box: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in box.lower()) or "appliance"


# Home Assistant entities: key -> (component, config). "{state}" and "{prefix}" are filled per box.
ENTITIES: dict[str, tuple[str, dict[str, str]]] = {
    "queue": (
        "sensor",
        {
            "name": "Queue",
            "state_topic": "{state}",
            "value_template": "{{ value_json.queue }}",
            "unit_of_measurement": "recordings",
            "icon": "mdi:tray-full",
        },
    ),
    "faces_today": (
        "sensor",
        {
            "name": "Faces today",
            "state_topic": "{state}",
            "value_template": "{{ value_json.faces_today }}",
            "unit_of_measurement": "faces",
            "state_class": "measurement",
            "icon": "mdi:face-recognition",
        },
    ),
    "last_person": (
        "sensor",
        {
            "name": "Last person seen",
            "state_topic": "{state}",
            "value_template": "{{ value_json.last_person }}",
            "icon": "mdi:account-clock",
        },
    ),
    "healthy": (
        "binary_sensor",
        {
            "name": "Healthy",
            "state_topic": "{state}",
            "value_template": "{{ 'ON' if value_json.healthy else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
        },
    ),
    "latest_face": (
        "image",
        {"name": "Latest face", "image_topic": "{prefix}/latest_face", "content_type": "image/jpeg"},
    ),
}


def discovery_configs(prefix: str, discovery: str, box: str) -> dict[str, dict[str, Any]]:
    """Home Assistant MQTT discovery: topic -> config, for the box's sensors, health and latest face."""
    node = node_id(box)
    device = {
        "identifiers": [f"face-appliance-{node}"],
        "name": f"Face appliance {box}",
        "manufacturer": "face-appliance",
        "model": "face appliance",
        "sw_version": __version__,
    }
    common = {
        "device": device,
        "availability_topic": f"{prefix}/status",
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
    }
    topics = {"{state}": f"{prefix}/state", "{prefix}": prefix}

    def fill(value: str) -> str:
        for marker, topic in topics.items():
            value = value.replace(marker, topic)
        return value

    return {
        f"{discovery}/{component}/{node}/{key}/config": {
            **common,
            **{name: fill(value) for name, value in config.items()},
            "unique_id": f"{node}_{key}",
            "object_id": f"face_appliance_{node}_{key}",
        }
        for key, (component, config) in ENTITIES.items()
    }


class MqttChannel:
    """One connection to the broker, kept in a paho network thread that reconnects by itself."""

    def __init__(self, url: str, discovery: str = "homeassistant", box: str | None = None) -> None:
        self.broker = Broker.parse(url)
        self.discovery = discovery
        self.box = box or box_name()
        self.name = f"mqtt {self.broker.where}"
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"face-appliance-{node_id(self.box)}")
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self.client = client
        self.connected = False

    @property
    def prefix(self) -> str:
        return self.broker.prefix

    @property
    def status_topic(self) -> str:
        return f"{self.prefix}/status"

    def start(self) -> None:
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()

    def stop(self) -> None:
        if self.connected:
            self.client.publish(self.status_topic, OFFLINE, qos=1, retain=True).wait_for_publish(PUBLISH_TIMEOUT_S)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _data: Any, _flags: Any, reason: Any, _props: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT %s refused the connection: %s", self.broker.where, reason)
            return
        self.connected = True
        log.info("MQTT connected to %s", self.broker.where)
        client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        if self.discovery:
            for topic, config in discovery_configs(self.prefix, self.discovery, self.box).items():
                client.publish(topic, json.dumps(config), qos=1, retain=True)

    def _on_disconnect(self, _client: mqtt.Client, _data: Any, _flags: Any, reason: Any, _props: Any = None) -> None:
        if self.connected:
            log.warning("MQTT disconnected from %s (%s); reconnecting", self.broker.where, reason)
        self.connected = False

    def _publish(self, topic: str, payload: str | bytes, retain: bool = False) -> bool:
        if not self.connected:
            return False
        try:
            info = self.client.publish(topic, payload, qos=1, retain=retain)
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
            return info.is_published()
        except (RuntimeError, ValueError):
            return False

    def deliver(self, event: Event, body: str, face_jpeg: bytes | None = None) -> str | None:
        """None when the broker acknowledged the event; else why not."""
        if not self._publish(f"{self.prefix}/events", body):
            return "not connected" if not self.connected else "no acknowledgement from the broker"
        if event.type is EventType.PERSON_SEEN:
            self._publish(f"{self.prefix}/person/{event.data['person']}", body)
            if face_jpeg:
                self._publish(f"{self.prefix}/latest_face", face_jpeg, retain=True)
        return None

    def update_state(self, state: dict[str, Any]) -> None:
        self._publish(f"{self.prefix}/state", json.dumps(state), retain=True)
