"""`RateLimit-Limit`, `-Remaining`, `-Reset` and `-Policy` (IETF draft-ietf-httpapi-ratelimit-headers)
on every answer to an authenticated API request, beside `Retry-After` on a 429.

The guard (app/http/guard.py) leaves the client's quota in the request context when it
charges the request; this adds it to the response. With the limit off
(`SAMHANDLING_RATE_LIMIT_PER_MINUTE=0`) there is no quota and no header.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.context import SCOPE_KEY
from app.security.rate_limit import QUOTA_KEY


class RateLimitHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                context = scope.get(SCOPE_KEY)
                quota = context.extra.get(QUOTA_KEY) if context is not None else None
                if quota is not None:
                    message = {**message, "headers": [*message.get("headers", []), *quota.headers()]}
            await send(message)

        await self.app(scope, receive, with_quota)
