"""Cursor paging: opaque, signed cursors bound to one list, one caller and one set of filters.

A cursor carries the sort key of the last item returned. It is signed (HMAC-SHA256 with a key
derived from the service's signing key), so a tampered cursor, one made for another list, for
other filters or by another client is refused with 422 instead of silently paging elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar

import orjson
from fastapi import Query

from app.errors import unprocessable

LimitParam = Annotated[int, Query(ge=1, le=200, description="Page size, 1–200.")]
CursorParam = Annotated[
    str | None,
    Query(max_length=2000, description="The `next_cursor` of the previous page, as returned."),
]
DEFAULT_LIMIT = 50
T = TypeVar("T")
_SIGNATURE_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs cursors with a key derived from the first of the service's keys and accepts those
    signed under any of them: a cursor saved before a key rotation still resumes its list."""

    def __init__(
        self, key_sources: Callable[[], Sequence[bytes]], refresh: Callable[[], Sequence[bytes]] | None = None
    ) -> None:
        self._key_sources = key_sources
        self._refresh = refresh  # when no key fits: perhaps another process has rotated
        self._derived: dict[bytes, bytes] = {}

    def _keys(self, sources: Sequence[bytes]) -> list[bytes]:
        keys = []
        for source in sources:
            key = self._derived.get(source)
            if key is None:
                key = self._derived[source] = hashlib.sha256(b"samhandling:cursor:v1:" + source).digest()
            keys.append(key)
        return keys

    @staticmethod
    def _mac(key: bytes, payload: bytes) -> bytes:
        return hmac.new(key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def _sign(self, payload: bytes) -> bytes:
        return self._mac(self._keys(self._key_sources())[0], payload)

    def _signed_by_a_known_key(self, payload: bytes, signature: bytes) -> bool:
        if any(hmac.compare_digest(signature, self._mac(key, payload)) for key in self._keys(self._key_sources())):
            return True
        if self._refresh is None:
            return False
        return any(hmac.compare_digest(signature, self._mac(key, payload)) for key in self._keys(self._refresh()))

    @staticmethod
    def _binding(kind: str, owner: str, filters: dict[str, Any]) -> str:
        canonical = orjson.dumps([kind, owner, filters], option=orjson.OPT_SORT_KEYS, default=str)
        return _b64(hashlib.sha256(canonical).digest()[:12])

    def encode(self, kind: str, owner: str, filters: dict[str, Any], position: list[Any]) -> str:
        payload = orjson.dumps({"b": self._binding(kind, owner, filters), "p": position}, default=str)
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, cursor: str, kind: str, owner: str, filters: dict[str, Any]) -> list[Any]:
        try:
            payload_text, signature_text = cursor.split(".")
            payload = _unb64(payload_text)
            signature = _unb64(signature_text)
            valid = self._signed_by_a_known_key(payload, signature)
            body = orjson.loads(payload) if valid else None
        except (ValueError, orjson.JSONDecodeError):
            valid, body = False, None
        if (
            not valid
            or not isinstance(body, dict)
            or body.get("b") != self._binding(kind, owner, filters)
            or not isinstance(body.get("p"), list)
        ):
            raise unprocessable(["query", "cursor"], "not a cursor this list issued for these filters")
        position: list[Any] = body["p"]
        return position


def split_page(rows: Sequence[T], limit: int) -> tuple[list[T], T | None]:
    """Rows fetched with `limit + 1` → the page, and its last item when more rows follow."""
    if len(rows) > limit:
        page = list(rows[:limit])
        return page, page[-1]
    return list(rows), None


class _Created(Protocol):
    created_at: datetime
    id: uuid.UUID


def created_after(
    cursors: CursorCodec, cursor: str | None, kind: str, owner: str, filters: dict[str, Any]
) -> tuple[datetime, uuid.UUID] | None:
    """The (created_at, id) position a records list resumes after, from its cursor."""
    if not cursor:
        return None
    position = cursors.decode(cursor, kind, owner, filters)
    try:
        created_at, record_id = position
        return datetime.fromisoformat(created_at), uuid.UUID(record_id)
    except (TypeError, ValueError):
        raise unprocessable(["query", "cursor"], "not a cursor this list issued") from None


def next_created_cursor(
    cursors: CursorCodec, last: _Created | None, kind: str, owner: str, filters: dict[str, Any]
) -> str | None:
    if last is None:
        return None
    return cursors.encode(kind, owner, filters, [last.created_at.isoformat(), str(last.id)])


R = TypeVar("R", bound=_Created)


@dataclass(frozen=True)
class CreatedPaging:
    """One page of a records list ordered by (created_at, id): where it resumes, how many rows to
    fetch (one more than the page, to know whether another follows), and the next page's cursor.

        paging = CreatedPaging.resume(cursors, cursor, "concerns", caller.client_id, filters, limit)
        rows, next_cursor = paging.cut(await list_concerns(..., paging.after, paging.fetch))
    """

    cursors: CursorCodec
    kind: str
    owner: str
    filters: dict[str, Any]
    limit: int
    after: tuple[datetime, uuid.UUID] | None

    @classmethod
    def resume(
        cls, cursors: CursorCodec, cursor: str | None, kind: str, owner: str, filters: dict[str, Any], limit: int
    ) -> CreatedPaging:
        return cls(cursors, kind, owner, filters, limit, created_after(cursors, cursor, kind, owner, filters))

    @property
    def fetch(self) -> int:
        return self.limit + 1

    def cut(self, rows: Sequence[R]) -> tuple[list[R], str | None]:
        """The fetched rows → this page, and the cursor of the next (None on the last page)."""
        page, last = split_page(rows, self.limit)
        return page, next_created_cursor(self.cursors, last, self.kind, self.owner, self.filters)
