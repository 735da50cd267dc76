"""Events as signed HTTP POSTs: the JSON body, its HMAC-SHA256 in ``X-Appliance-Signature: sha256=<hex>``
(keyed by the ``webhook_secret`` setting), the event's type and id in headers; any 2xx answer is a
delivery, anything else is tried again later (the dispatcher backs off).

Redirects are never followed: the receiver is the URL the operator set, and a 3xx sending the event
(faces, names) somewhere else, inside the network or out of it, is a failed delivery that says so."""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from .model import Event

TIMEOUT_S = 10.0


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is answered as it is (an HTTPError), never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirects())


def _refused(err: urllib.error.HTTPError) -> str:
    """What a non-2xx answer says; a redirect names where it pointed (scheme and host: no path, no credentials)."""
    if not 300 <= err.code < 400:
        return f"answered {err.code}"
    target = urlsplit(err.headers.get("Location") or "")
    where = f" to {target.scheme}://{target.hostname}" if target.hostname else ""
    return f"answered {err.code}, a redirect{where}: not followed (set the receiver's final URL in webhooks)"


class WebhookChannel:
    def __init__(self, url: str, secret: str | None, number: int) -> None:
        self.url = url
        self.secret = secret
        parts = urlsplit(url)
        self.name = f"webhook {number} ({parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''})"
        self.connected = True

    def start(self) -> None:
        """Nothing to open: each delivery is its own request."""

    def stop(self) -> None:
        """Nothing to close."""

    def deliver(self, event: Event, body: str, face_jpeg: bytes | None = None) -> str | None:
        data = body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"face-appliance/{__version__}",
            "X-Appliance-Event": event.type.value,
            "X-Appliance-Id": str(event.id),
        }
        if self.secret:
            headers["X-Appliance-Signature"] = signature(self.secret, data)
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with OPENER.open(request, timeout=TIMEOUT_S) as response:
                self.connected = True
                return None if 200 <= response.status < 300 else f"answered {response.status}"
        except urllib.error.HTTPError as err:
            self.connected = True
            return _refused(err)
        except (urllib.error.URLError, OSError) as err:
            self.connected = False
            return f"unreachable: {getattr(err, 'reason', err)}"
