"""Issue 23 #9: a webhook receiver that answers with a redirect does not get the event sent elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from appliance.events.model import Event, EventType
from appliance.events.webhook import WebhookChannel


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
