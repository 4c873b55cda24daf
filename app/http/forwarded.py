"""Behind a reverse proxy: X-Forwarded-For, -Proto and -Host, from trusted proxies only.

A TLS-terminating proxy talks plain HTTP to the API; without these headers every URL the server
builds itself — a trailing-slash redirect's `Location` above all — points at `http://` and the
proxy's upstream address. uvicorn's `ProxyHeadersMiddleware` (its `--forwarded-allow-ips`
setting) takes the scheme and the client address from a trusted peer; this adds the host, which
uvicorn leaves alone. Requests from any other peer are taken exactly as they arrived, so a client
cannot claim another address (the login throttle and the anonymous limit count per address).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware, _TrustedHosts

# A host, optionally with a port: what a Host header may hold (RFC 9110 §7.2), nothing else.
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")


class ForwardedHeaders:
    def __init__(self, app: ASGIApp, trusted: str) -> None:
        self.trusted = _TrustedHosts(trusted)
        self.proxied = ProxyHeadersMiddleware(app, trusted_hosts=trusted)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            if client and client[0] in self.trusted:
                _take_forwarded_host(scope)
        await self.proxied(scope, receive, send)  # type: ignore[arg-type]


def _take_forwarded_host(scope: Scope) -> None:
    forwarded = next((value for name, value in scope["headers"] if name == b"x-forwarded-host"), None)
    if forwarded is None:
        return
    host = forwarded.decode("latin-1").split(",")[0].strip()  # the first proxy saw the client's
    if not _HOST.match(host):
        return
    headers = [(name, value) for name, value in scope["headers"] if name != b"host"]
    scope["headers"] = [(b"host", host.encode("latin-1")), *headers]
