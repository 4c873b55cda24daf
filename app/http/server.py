"""The HTTP protocol `samhandling serve` runs: uvicorn's httptools protocol with a header deadline.

uvicorn closes a connection that stays idle `timeout_keep_alive` seconds *after a response*, but
it has no deadline for a request's headers: a connection that is opened and never sends a byte,
or sends its headers a byte at a time (slowloris), stays open for good and holds a file
descriptor and a slot. This protocol closes a connection whose request headers are not complete
within `SAMHANDLING_HTTP_HEADER_TIMEOUT_SECONDS` of its opening or of the previous response. The
body then has `SAMHANDLING_HTTP_BODY_TIMEOUT_SECONDS` in the request pipeline (app/http/pipeline.py).

It also bounds the request line and headers to `MAX_HEADER_BYTES` (uvicorn's
`h11_max_incomplete_event_size` applies to its h11 protocol only; httptools keeps whatever comes
within the deadline in memory): beyond it the request is answered 400 and the connection closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import get_settings

PROTOCOL = "app.http.server:HeaderDeadlineProtocol"
# Request line and headers together. Above the largest request the spec allows: a 2 000-char
# cursor of 4-byte characters is 24 KiB percent-encoded (schemathesis sends such URLs).
MAX_HEADER_BYTES = 64 * 1024


class HeadersTooLarge(Exception):
    """Raised in a parser callback: httptools stops, uvicorn answers 400 and closes."""


class HeaderDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = get_settings().http_header_timeout_seconds
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_message_begin(self) -> None:
        self._header_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value))
        super().on_header(name, value)

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            raise HeadersTooLarge

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:  # waiting for the next request
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
