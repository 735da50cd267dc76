"""Webhook delivery against real local HTTP servers: a redirect is not followed (issue 23 #9); a receiver
that cannot be reached loses nothing and gets everything once it is up (issue 24)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from appliance.events.dispatch import Dispatcher
from appliance.events.model import Event, EventType, NewEvent
from appliance.events.webhook import WebhookChannel
from appliance.service.queue.sqlite import SqliteJobStore
from tests.events.conftest import Receiver, free_port, wait


class Server:
    """A real local HTTP server: ``redirect_to`` set, it answers 302 there; otherwise 200. Counts requests."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.hits.append(self.command)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(302 if redirect_to else 200)
                if redirect_to:
                    self.send_header("Location", redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer  # noqa: N815 - the http.server names

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    internal = Server()
    redirecting = Server(redirect_to=internal.url.replace("/hook", "/admin/internal"))
    yield redirecting, internal
    redirecting.stop()
    internal.stop()


def test_a_redirect_is_a_failed_delivery_and_is_not_followed(servers):
    redirecting, internal = servers
    event = Event(7, 0.0, EventType.HEALTH, {"status": "ok"})
    error = WebhookChannel(redirecting.url, "a-secret", 1).deliver(event, '{"id": 7}')
    assert error is not None and "302" in error and "redirect" in error and "not followed" in error
    assert redirecting.hits == ["POST"] and internal.hits == []
    assert WebhookChannel(internal.url, "a-secret", 2).deliver(event, '{"id": 7}') is None  # a 200 still counts


def test_an_unreachable_receiver_loses_nothing_and_is_retried(tmp_path):
    """Nothing listens at the receiver's address: the events stay in the outbox, the channel says why;
    a receiver that comes up there later gets every one of them, in order, once."""
    store = SqliteJobStore(tmp_path / "jobs.sqlite")
    port = free_port()
    channel = WebhookChannel(f"http://127.0.0.1:{port}/hook", None, 1)
    dispatcher = Dispatcher(store, [channel], tmp_path, state=dict)
    receiver = None
    dispatcher.start()  # the channel takes the events from now on
    try:
        store.emit([NewEvent(EventType.HEALTH, {"n": n}) for n in range(3)])
        failed = wait(lambda: [c for c in store.channels() if c["attempts"] >= 1], 30, "a failed delivery")[0]
        assert failed["error"].startswith("unreachable") and failed["backlog"] == 3, failed
        assert not channel.connected
        receiver = Receiver(port)
        wait(lambda: len(receiver.events()) >= 3, 30, "delivery once the receiver is up")
        assert [e["data"]["n"] for e in receiver.events()] == [0, 1, 2]
        after = store.channels()[0]
        assert after["backlog"] == 0 and after["connected"] == 1 and channel.connected, after
    finally:
        dispatcher.stop()
        if receiver is not None:
            receiver.stop()
    assert [e["data"]["n"] for e in receiver.events()] == [0, 1, 2]  # nothing repeated after the last check
