"""Attacks on the page, each as the review reproduced it: rebinding, redirects, sessions, CSRF, files.

Issue #12, items 1, 6, 7, 10, 11.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import re
import socket
import threading

import pytest

from appliance.settings import ConfigError, load
from appliance.web import create_app
from tests.web.conftest import TOKEN, settings_for

EVIL = "http://evil.example:8080"


@pytest.fixture
def loopback(populated):
    """The default: bound to 127.0.0.1, no token, every request from the box trusted."""
    return create_app(settings_for(populated.data), populated.store).test_client()


@pytest.fixture
def with_token(populated):
    return create_app(settings_for(populated.data, token=TOKEN), populated.store).test_client()


def csrf_of(client, job_id: int) -> str:
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)


# -- 1. DNS rebinding --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/jobs", "/files/walk/tracks/track-0001.jpg", "/", "/metrics", "/healthz"])
def test_a_rebound_host_name_is_refused_on_every_route(loopback, path):
    response = loopback.get(path, base_url=EVIL)
    assert response.status_code == 400 and b"walk" not in response.data


@pytest.mark.parametrize("base", ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"])
def test_loopback_names_are_allowed(loopback, base):
    assert loopback.get("/api/jobs", base_url=base).status_code == 200


def test_configured_names_are_allowed(populated):
    settings = settings_for(populated.data, allowed_hosts="nvr.site.lan, 10.0.0.5")
    client = create_app(settings, populated.store).test_client()
    assert client.get("/api/jobs", base_url="http://nvr.site.lan:8080").status_code == 200
    assert client.get("/api/jobs", base_url="http://10.0.0.5").status_code == 200
    assert client.get("/api/jobs", base_url=EVIL).status_code == 400


def test_a_cross_site_post_is_refused_even_with_a_stolen_csrf_token(loopback, populated):
    csrf = csrf_of(loopback, populated.failed.id)
    response = loopback.post(
        f"/jobs/{populated.failed.id}/retry", data={"csrf": csrf}, headers={"Origin": "http://evil.example:8080"}
    )
    assert response.status_code == 403
    response = loopback.post(
        f"/jobs/{populated.failed.id}/retry", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    assert populated.store.get(populated.failed.id).state == "failed"
    same = loopback.post(
        f"/jobs/{populated.failed.id}/retry",
        data={"csrf": csrf},
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert same.status_code == 302
    populated.store.fail(populated.failed.id, populated.store.get(populated.failed.id).path, "again")
    unnamed = loopback.post(
        f"/jobs/{populated.failed.id}/retry",
        data={"csrf": csrf},
        headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    )
    assert unnamed.status_code == 403  # a page that hides its origin is not trusted
    ours = loopback.post(
        f"/jobs/{populated.failed.id}/retry",
        data={"csrf": csrf},
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert ours.status_code == 302


def test_a_token_is_honoured_on_loopback_too(with_token):
    assert with_token.get("/api/jobs").status_code == 401
    assert with_token.get("/api/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


# -- 6. open redirect ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/a%0d%0aSet-Cookie:x=1",
        "javascript:alert(1)",
        "/\t/evil.example",
    ],
)
def test_after_login_only_local_paths(with_token, target):
    response = with_token.post(f"/login?next={target}", data={"token": TOKEN})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location in ("/", "http://localhost/"), location


def test_after_login_a_local_path_is_kept(with_token):
    response = with_token.post("/login?next=/jobs/2", data={"token": TOKEN})
    assert response.headers["Location"].endswith("/jobs/2")


# -- 7. sessions and login ----------------------------------------------------------------------------
def test_a_session_dies_with_its_token(populated):
    old = create_app(settings_for(populated.data, token=TOKEN), populated.store, secret_key=b"k" * 32).test_client()
    assert old.post("/login", data={"token": TOKEN}).status_code == 302
    assert old.get("/api/jobs").status_code == 200
    cookie = old.get_cookie(old.application.config["SESSION_COOKIE_NAME"]).value
    new_token = "another-token-of-24-chars-or-more"
    new = create_app(settings_for(populated.data, token=new_token), populated.store, secret_key=b"k" * 32).test_client()
    new.set_cookie(new.application.config["SESSION_COOKIE_NAME"], cookie)
    assert new.get("/api/jobs").status_code == 401


def test_logout_ends_the_session(with_token, populated):
    with_token.post("/login", data={"token": TOKEN})
    csrf = csrf_of(with_token, populated.done.id)
    assert with_token.post("/logout", data={"csrf": csrf}).status_code == 302
    assert with_token.get("/api/jobs").status_code == 401


def test_wrong_logins_are_slowed_and_logged(with_token, caplog):
    caplog.set_level(logging.WARNING)
    codes = [with_token.post("/login", data={"token": f"guess-{n}"}).status_code for n in range(12)]
    assert codes[:3] == [403, 403, 403] and 429 in codes
    assert with_token.post("/login", data={"token": TOKEN}).status_code == 429  # even the right one, for now
    assert sum("failed sign-in" in r.getMessage() for r in caplog.records) >= 3


def test_a_short_token_is_refused_with_how_to_make_one():
    with pytest.raises(ConfigError, match="at least 24 characters.*openssl rand"):
        load(flags={"token": "x"}, environ={})


def test_behind_a_tls_proxy_the_cookie_is_host_prefixed_and_secure(populated):
    settings = settings_for(populated.data, token=TOKEN, tls_proxy=True)
    client = create_app(settings, populated.store).test_client()
    response = client.post("/login", data={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-") and "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie


# -- 10. low ------------------------------------------------------------------------------------------
def test_a_junk_bearer_header_does_not_skip_csrf(loopback, populated):
    response = loopback.post(f"/jobs/{populated.failed.id}/retry", headers={"Authorization": "Bearer junk"})
    assert response.status_code == 403
    assert populated.store.get(populated.failed.id).state == "failed"


def test_odd_csrf_values_and_next_targets_get_4xx_not_500(with_token, loopback, populated):
    with_token.post("/login", data={"token": TOKEN})
    assert with_token.post(f"/jobs/{populated.failed.id}/retry", data={"csrf": "é"}).status_code == 403
    assert loopback.post(f"/jobs/{populated.failed.id}/retry", data={"csrf": "\u00e9\u00e9"}).status_code == 403
    response = with_token.post("/login?next=/%0d%0aX-Injected:%201", data={"token": TOKEN})
    assert response.status_code == 302 and "X-Injected" not in response.headers


def test_a_negative_or_huge_limit_is_clamped(loopback, populated):
    for n in range(5):
        populated.store.add(f"x{n}.mp4", f"/p/x{n}", str(n) * 64, 1)
    assert len(loopback.get("/api/jobs?limit=-1").get_json()["jobs"]) == 1
    assert len(loopback.get("/api/jobs?limit=0").get_json()["jobs"]) == 1
    assert len(loopback.get("/api/jobs?limit=100000").get_json()["jobs"]) == 7


# -- 11. files ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["page.html", "script.js", "image.svg", "notes.txt"])
def test_only_result_types_are_served_from_results(loopback, populated, name):
    (populated.data / "outbox" / "walk" / name).write_text("<script>alert(1)</script>")
    assert loopback.get(f"/files/walk/{name}").status_code == 404


def test_files_outside_result_folders_and_hard_links_are_refused(loopback, populated):
    outbox = populated.data / "outbox"
    (outbox / "loose.jpg").write_bytes(b"\xff\xd8 not in a result")
    assert loopback.get("/files/loose.jpg").status_code == 404
    secret = populated.data / "state" / "secret.key"
    secret.write_bytes(b"k" * 32)
    os.link(secret, outbox / "walk" / "faces" / "key.jpg")
    assert loopback.get("/files/walk/faces/key.jpg").status_code == 404


def test_result_files_are_sandboxed(loopback):
    response = loopback.get("/files/walk/tracks/track-0001.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Content-Security-Policy"] == "sandbox"


# -- issue 23: the page behind a TLS proxy, sign-out ----------------------------------------------------
class Served:
    """The page on a real waitress server, made as ``appliance serve`` makes it."""

    def __init__(self, settings) -> None:
        from appliance.service.queue.sqlite import SqliteJobStore
        from appliance.web.server import create_server

        store = SqliteJobStore(settings.service.state_dir / "jobs.sqlite")
        self.server = create_server(create_app(settings, store), settings.web, threads=2)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        with contextlib.suppress(OSError):  # its sockets closed under it by close()
            self.server.run()

    def close(self) -> None:
        self.server.close()

    def request(self, method: str, path: str, body: str = "", headers=None, source: str = "127.0.0.1"):
        """One request from ``source`` (a loopback address): the status, headers and body."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.server.effective_port, timeout=10, source_address=(source, 0)
        )
        try:
            form = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
            connection.request(method, path, body=body or None, headers={**form, **(headers or {})})
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            connection.close()

    def login(self, token: str, client: str, source: str = "127.0.0.1") -> int:
        return self.request("POST", "/login", f"token={token}", {"X-Forwarded-For": client}, source)[0]


@pytest.fixture
def proxied(populated):
    """Behind a TLS proxy on 127.0.0.1 (the default address), with a token and the name the proxy serves."""
    settings = settings_for(populated.data, port=0, token=TOKEN, tls_proxy=True, allowed_hosts="faces.site.lan")
    served = Served(settings)
    yield served
    served.close()


def test_behind_the_proxy_wrong_tokens_lock_out_only_their_own_client(proxied, caplog):
    caplog.set_level(logging.WARNING)
    codes = [proxied.login(f"guess-{n}", "203.0.113.7") for n in range(6)]
    assert codes[-1] == 429, codes
    assert proxied.login(TOKEN, "203.0.113.8") == 302  # another client signs in
    assert proxied.login(TOKEN, "203.0.113.7") == 429  # the guesser does not, even with the token
    assert any("failed sign-in from 203.0.113.7" in r.getMessage() for r in caplog.records)


def test_forwarded_headers_from_anyone_but_the_proxy_are_not_believed(populated):
    settings = settings_for(populated.data, port=0, token=TOKEN, tls_proxy=True, tls_proxy_address="127.0.0.2")
    served = Served(settings)
    try:  # 127.0.0.1 is not the proxy: each guess names another client, all are the one address they come from
        codes = [served.login(f"guess-{n}", f"203.0.113.{n}") for n in range(6)]
        assert codes[-1] == 429, codes
        assert served.login(TOKEN, "198.51.100.1") == 429
        assert served.login(TOKEN, "198.51.100.1", source="127.0.0.2") == 302  # the proxy is believed
    finally:
        served.close()


def test_behind_the_proxy_posts_from_the_page_are_accepted_as_the_browser_sent_them(proxied):
    status, _, _ = proxied.request(
        "POST", "/login", f"token={TOKEN}", {"Host": "127.0.0.1:8080", "X-Forwarded-Host": "faces.site.lan",
                                              "X-Forwarded-Proto": "https", "Origin": "https://faces.site.lan"}
    )  # fmt: skip
    assert status == 302
    forged = {"Host": "127.0.0.1:8080", "X-Forwarded-Host": "evil.example"}
    assert proxied.request("GET", "/healthz", headers=forged)[0] == 400  # the forwarded name is the one checked
    status, _, _ = proxied.request(  # nginx's default: Host rewritten, no X-Forwarded-Host
        "POST", "/login", f"token={TOKEN}", {"Host": "127.0.0.1:8080", "Origin": "https://faces.site.lan"}
    )
    assert status == 302
    status, _, _ = proxied.request(
        "POST", "/login", f"token={TOKEN}", {"Host": "127.0.0.1:8080", "Origin": "https://evil.example"}
    )
    assert status == 403


def test_a_cookie_copied_before_sign_out_is_refused_after_it(populated):
    served = Served(settings_for(populated.data, port=0, token=TOKEN))
    try:
        status, headers, _ = served.request("POST", "/login", f"token={TOKEN}")
        assert status == 302
        cookie = {"Cookie": headers["Set-Cookie"].split(";")[0]}  # the copy
        assert served.request("GET", "/api/jobs", headers=cookie)[0] == 200
        _, headers, page = served.request("GET", f"/jobs/{populated.done.id}", headers=cookie)
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
        with_csrf = {"Cookie": headers["Set-Cookie"].split(";")[0]}
        assert served.request("POST", "/logout", f"csrf={csrf}", with_csrf)[0] == 302
        assert served.request("GET", "/api/jobs", headers=cookie)[0] == 401
        assert served.request("GET", "/", headers=cookie)[0] == 302  # to the sign-in page
    finally:
        served.close()


# -- issue 24: the forged headers of items 1 and 6 through a real server, not only the test client -----
def raw_status(port: int, request: str) -> int:
    """Send ``request`` byte for byte (headers http.client would not send, repeated ones): the status."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request.encode())
        head = connection.makefile("rb").readline()
    return int(head.split()[1])


def test_forged_host_and_origin_headers_through_waitress(populated):
    """What reaches the app from a real waitress server: a rebound name, a name repeated, a forwarded
    name from a client that is no proxy, a cross-site post carrying a stolen CSRF token."""
    served = Served(settings_for(populated.data, port=0))
    port = served.server.effective_port
    try:
        for path in ("/api/jobs", "/files/walk/tracks/track-0001.jpg", "/"):
            status, _, body = served.request("GET", path, headers={"Host": f"evil.example:{port}"})
            assert status == 400 and "walk" not in body, path
        assert served.request("GET", "/api/jobs")[0] == 200  # the same request with the box's own name
        close = "Connection: close\r\n\r\n"
        for first, second in (("127.0.0.1", "evil.example"), ("evil.example", "127.0.0.1")):
            assert raw_status(port, f"GET /api/jobs HTTP/1.1\r\nHost: {first}\r\nHost: {second}\r\n{close}") == 400
        forwarded = f"GET /api/jobs HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: 127.0.0.1\r\n{close}"
        assert raw_status(port, forwarded) == 400  # no proxy configured: the forwarded name is not believed
        status, headers, page = served.request("GET", f"/jobs/{populated.failed.id}")
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
        stolen = {"Cookie": headers["Set-Cookie"].split(";")[0], "Origin": "http://evil.example:8080"}
        retry = f"/jobs/{populated.failed.id}/retry"
        assert served.request("POST", retry, f"csrf={csrf}", stolen)[0] == 403
        assert populated.store.get(populated.failed.id).state == "failed"
        ours = {**stolen, "Origin": f"http://127.0.0.1:{port}"}
        assert served.request("POST", retry, f"csrf={csrf}", ours)[0] == 302  # the token itself was good
    finally:
        served.close()
