"""CORS for browser-based tools (an API explorer on another origin): off unless
`SAMHANDLING_CORS_ORIGINS` names the origins. Agency systems call the API server to server and
need none of it. Bearer tokens travel in `Authorization`, never in cookies, so credentials mode is
off and `*` is safe to allow where an operator wants it.
"""

from __future__ import annotations

from typing import Any

ALLOWED_METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE"]
ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "Purpose-Of-Use",
    "X-Request-ID",
    "Accept",
]
EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "X-Request-ID",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
]
PREFLIGHT_MAX_AGE_SECONDS = 600


def cors_options(origins: list[str]) -> dict[str, Any]:
    """Keyword arguments for Starlette's CORSMiddleware."""
    return {
        "allow_origins": origins,
        "allow_methods": ALLOWED_METHODS,
        "allow_headers": ALLOWED_HEADERS,
        "expose_headers": EXPOSED_HEADERS,
        "allow_credentials": False,
        "max_age": PREFLIGHT_MAX_AGE_SECONDS,
    }
