"""Unauthenticated requests, limited per source address.

Every request to the API without a valid access token — a token request, a missing or bad
token — costs its source address one request of `SAMHANDLING_ANONYMOUS_REQUESTS_PER_MINUTE` (a
token bucket per address in each API process, like the per-client limit); beyond it the answer
is 429 with Retry-After, before any route runs (no argon2, no database). A request with a valid
token is never counted here: its client has its own limit. The source address is the
connection's peer (the ASGI client host).
"""

from __future__ import annotations

from starlette.types import Scope

from app.security.rate_limit import RateLimiter
from app.security.tokens import TokenRejected, TokenService


def source_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class AnonymousLimiter:
    def __init__(self, tokens: TokenService, per_minute: int) -> None:
        self.tokens = tokens
        self.limiter = RateLimiter(per_minute)

    def authenticated(self, scope: Scope) -> bool:
        """Whether the request carries an access token that verifies (remembered once checked)."""
        token = _bearer(scope)
        if token is None:
            return False
        try:
            self.tokens.verify(token)
        except TokenRejected:
            return False
        return True

    def wait_seconds(self, scope: Scope) -> int:
        """0 when the request may go ahead, else the seconds its address must wait."""
        if not self.limiter.enabled or self.authenticated(scope):
            return 0
        return self.limiter.acquire(source_address(scope) or "unknown")
