"""A real MQTT broker (Debian's mosquitto) on a free port, a subscriber, and a real HTTP receiver."""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class Broker:
    def __init__(self, folder: Path, password: str | None = None) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None
        # run as whoever starts it (as root it would switch to the mosquitto user, who cannot read this folder)
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", f"user {getpass.getuser()}"]
        if password:
            passwords = folder / "passwords"
            subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "appliance", password], check=True)
            passwords.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> Broker:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.fail("mosquitto is not installed (make test installs it: scripts/system-deps.sh)")
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@dataclass
class Subscriber:
    """A client that records everything under the topics, retained messages included."""

    port: int
    username: str | None = None
    password: str | None = None
    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, topics: tuple[str, ...] = ("#",)) -> Subscriber:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-subscriber")
        if self.username:
            client.username_pw_set(self.username, self.password)
        client.on_connect = lambda c, *_: [c.subscribe(t, qos=1) for t in topics]
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        client.connect_async("127.0.0.1", self.port, keepalive=10)
        client.loop_start()
        self.client = client
        return self

    def _on_message(self, _client: mqtt.Client, _data: object, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def on(self, topic: str) -> list[bytes]:
        with self.lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def events(self, prefix: str) -> list[dict]:
        return [json.loads(payload) for payload in self.on(f"{prefix}/events")]

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Receiver:
    """An HTTP receiver for webhooks; ``failures`` answers 500 that many times first. ``port``: a given
    one (a receiver coming up where one was expected), else any free one."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.failures = 0
        self.answered_500 = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.failures > 0:
                    receiver.failures -= 1
                    receiver.answered_500 += 1
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.requests.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def broker(tmp_path):
    found = Broker(tmp_path).start()
    yield found
    found.stop()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.stop()


def wait(condition, seconds: float = 120, what: str = "condition"):
    """``condition()``'s first true value, polled until ``seconds`` pass (then TimeoutError naming ``what``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")
