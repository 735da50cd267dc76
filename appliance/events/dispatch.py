"""Delivery from the outbox: each channel takes the events in order, from where it left off, at least once.

Events are written to the outbox (in the job store) in the same transaction as what causes them;
this thread hands them to each channel. A channel that fails (broker down, receiver answering 500)
keeps its place and is tried again after 1, 2, 4 ... up to 300 s; nothing is skipped, so a receiver
that was down gets everything when it is back (with ids, to drop the repeats of a delivery whose
answer was lost).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ..settings import EventsSettings
from .model import Event, EventType
from .mqtt import MqttChannel
from .webhook import WebhookChannel

log = logging.getLogger("appliance.events")
TICK_S = 0.5
STATE_EVERY_S = 30.0
BATCH = 50
MAX_BACKOFF_S = 300.0


class Channel(Protocol):
    name: str
    connected: bool

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def deliver(self, event: Event, body: str, face_jpeg: bytes | None = None) -> str | None: ...


class Outbox(Protocol):
    def register_channel(self, name: str) -> None: ...
    def pending(self, channel: str, limit: int = 100) -> list[Event]: ...
    def delivered(self, channel: str, event_id: int) -> None: ...
    def delivery_failed(self, channel: str, error: str) -> int: ...
    def channel_connected(self, channel: str, connected: bool) -> None: ...


def channels_for(settings: EventsSettings) -> list[Channel]:
    found: list[Channel] = []
    if settings.mqtt is not None:
        found.append(MqttChannel(settings.mqtt.get_secret_value(), settings.mqtt_discovery))
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    found.extend(WebhookChannel(url.get_secret_value(), secret, n) for n, url in enumerate(settings.webhooks, start=1))
    return found


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        channels: list[Channel],
        crops: Path,
        state: Callable[[], dict[str, Any]],
        public_url: str = "",
    ) -> None:
        self.outbox = outbox
        self.channels = channels
        self.crops = crops
        self.state = state
        self.public_url = public_url.rstrip("/")
        self._next_try: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="events", daemon=True)

    def start(self) -> None:
        for channel in self.channels:
            self.outbox.register_channel(channel.name)
            channel.start()
        if self.channels:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for channel in self.channels:
            channel.stop()

    def _loop(self) -> None:
        last_state = 0.0
        while not self._stop.wait(TICK_S):
            for channel in self.channels:
                self._deliver(channel)
            if time.monotonic() - last_state >= STATE_EVERY_S:
                last_state = time.monotonic()
                self._publish_state()

    def _deliver(self, channel: Channel) -> None:
        now = time.monotonic()
        if now < self._next_try.get(channel.name, 0.0):
            return
        for event in self.outbox.pending(channel.name, BATCH):
            error = channel.deliver(event, self._body(event), self._face(event))
            if error is None:
                self.outbox.delivered(channel.name, event.id)
                continue
            attempts = self.outbox.delivery_failed(channel.name, error)
            self._next_try[channel.name] = now + min(2.0 ** (attempts - 1), MAX_BACKOFF_S)
            log.warning("events: %s: event %d not delivered (%s); attempt %d", channel.name, event.id, error, attempts)
            break
        self.outbox.channel_connected(channel.name, channel.connected)

    def _body(self, event: Event) -> str:
        if self.public_url:
            data = {k: f"{self.public_url}{v}" if k in ("link", "face") and isinstance(v, str) else v
                    for k, v in event.data.items()}  # fmt: skip
            event = Event(event.id, event.time, event.type, data)
        return event.to_json()

    def _face(self, event: Event) -> bytes | None:
        crop = event.data.get("crop") if event.type is EventType.PERSON_SEEN else None
        if not crop:
            return None
        try:
            return (self.crops / crop).read_bytes()
        except OSError:
            return None

    def _publish_state(self) -> None:
        mqtt_channels = [c for c in self.channels if isinstance(c, MqttChannel)]
        if not mqtt_channels:
            return
        try:
            state = self.state()
        except Exception:  # noqa: BLE001 - the state is a courtesy; delivery goes on
            log.exception("events: the box's state could not be read")
            return
        for channel in mqtt_channels:
            channel.update_state(state)
