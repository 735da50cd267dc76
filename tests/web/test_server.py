"""The page served for real (waitress on an ephemeral port): what the test client cannot show."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request

from waitress import create_server

from appliance.web import create_app
from tests.web.conftest import TOKEN, settings_for


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def serve_until_closed(server) -> None:
    with contextlib.suppress(OSError):  # its sockets closed under it by close(): the end, not an error
        server.run()


def test_waitress_serves_the_api_files_and_refuses_without_the_token(populated):
    settings = settings_for(populated.data, host="127.0.0.1", token=TOKEN)
    server = create_server(create_app(settings, populated.store), host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=serve_until_closed, args=(server,), daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        status, body = get(base + "/api/status", auth)
        assert status == 200 and json.loads(body)["queue"]["done"] == 1
        status, body = get(base + "/files/walk/tracks/track-0001.jpg", auth)
        assert status == 200 and body.startswith(b"\xff\xd8")
        assert get(base + "/api/status")[0] == 401
        assert get(base + "/files/%2e%2e/secret.txt", auth)[0] == 404
        assert get(base + "/healthz")[0] == 200
    finally:
        server.close()
