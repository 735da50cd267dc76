"""The page served by waitress: how many threads, and whose forwarded headers are believed.

Behind a TLS proxy every connection comes from the proxy, so the client's address, the host name
and the scheme the browser used are only known from the proxy's ``X-Forwarded-*`` headers. Waitress
applies them only for connections from the proxy's own address, and removes them from any other
connection, so a client that sends them itself changes nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..settings.model import WebSettings

HTTP_THREADS = 4  # a search may hold two of them (see Searcher): the others keep the page and /healthz answering
FORWARDED_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"})


def proxy_options(web: WebSettings) -> dict[str, Any]:
    """Waitress's options for the TLS proxy: its address, one hop, the three headers it sets."""
    if not web.tls_proxy:
        return {}
    return {
        "trusted_proxy": web.tls_proxy_address,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": set(FORWARDED_HEADERS),
        "clear_untrusted_proxy_headers": True,
    }


def create_server(app: Flask, web: WebSettings, threads: int = HTTP_THREADS) -> Any:
    """A waitress server for ``app`` on the configured address (not yet running: call its ``run``)."""
    from waitress import create_server as waitress_server

    return waitress_server(app, host=web.host, port=web.port, threads=threads, ident="appliance", **proxy_options(web))
