"""HTTP conventions no route needs to know about: `HEAD` wherever `GET` is, and conditional `GET`.

* `HEAD` is answered as the `GET` would be, headers and all (`Content-Length` included), without
  the body (RFC 9110 §9.3.2). The inner app sees a `GET` on a copy of the scope; the pipeline, the
  server and the access log keep seeing the `HEAD` it was.
* A `GET` (or `HEAD`) answered `200` with an `ETag` becomes `304 Not Modified` without a body when
  the request's `If-None-Match` lists that tag or is `*` (RFC 9110 §13.1.2; weak comparison).
  It sits inside the request pipeline, so the access log records the `304` that was sent — an
  access all the same: the caller learns that the record is as it was.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What a 304 keeps of the 200 it replaces (RFC 9110 §15.4.5), besides the pipeline's own headers.
_NOT_MODIFIED_DROPS = frozenset({b"content-length", b"content-type", b"content-encoding"})


def _weak(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def none_match(if_none_match: str, etag: str) -> bool:
    """Whether `If-None-Match` matches `etag`: `*`, or any listed tag under weak comparison."""
    candidates = {_weak(tag) for tag in if_none_match.split(",")}
    return "*" in candidates or _weak(etag) in candidates


def _header(scope: Scope, wanted: bytes) -> str | None:
    return next((value.decode("latin-1") for name, value in scope["headers"] if name == wanted), None)


class HttpConventions:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if_none_match = next(
            (value.decode("latin-1") for name, value in scope["headers"] if name == b"if-none-match"), None
        )
        not_modified = False

        async def answer(message: Message) -> None:
            nonlocal not_modified
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                etag = next((value.decode("latin-1") for name, value in headers if name == b"etag"), None)
                if message["status"] == 200 and etag is not None and if_none_match is not None:
                    not_modified = none_match(if_none_match, etag)
                if not_modified:
                    headers = [header for header in headers if header[0] not in _NOT_MODIFIED_DROPS]
                    message = {**message, "status": 304, "headers": headers}
            elif message["type"] == "http.response.body" and (head or not_modified):
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"} if head else scope, receive, answer)
