"""Where webhooks may go: only to hosts or networks the operator allowed (OWASP API7, SSRF)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def url_problem(url: str, allowlist: list[str]) -> str | None:
    """None when `url` may be called; otherwise why not."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    if parts.username or parts.password:
        return "credentials in the URL are not allowed"
    host = (parts.hostname or "").lower()
    if not host:
        return "the URL has no host"
    if not allowlist:
        return "no webhook targets are allowed here (SAMHANDLING_WEBHOOK_ALLOWLIST is empty)"
    if host in (entry.lower() for entry in allowlist):
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"the host {host} is not in the webhook allowlist"
    for entry in allowlist:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return None
        except ValueError:
            continue
    return f"the address {host} is not in the webhook allowlist"
