"""Idempotency-Key for creating POSTs: a retry returns the first response and creates nothing.

Keys are per client and kept 24 hours. The first request with a key claims it in its own
transaction; the pipeline stores the response in that same transaction just before it commits,
so a stored response always belongs to a committed create. A concurrent retry waits for the
claim to commit (PostgreSQL's unique index; SQLite's single writer) and then replays it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import Depends, Header, Request
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_ignoring_conflict
from app.errors import unprocessable
from app.http.context import RequestContext, get_context
from app.models.base import table_of, utcnow
from app.models.idempotency import IdempotencyRecord

RETENTION = timedelta(hours=24)
_keys = table_of(IdempotencyRecord)
_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_REPLAYED_HEADERS = ("location", "etag", "content-type")


class Replay(Exception):
    """Answer with the stored first response instead of running the handler again."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        super().__init__("idempotent replay")
        self.status = status
        self.body = body
        self.headers = headers


@dataclass
class Claim:
    client_id: str
    key: str

    async def store(
        self, session: AsyncSession, context: RequestContext, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        """Keep the response (in the create's own transaction) for replays."""
        kept = {name: value for name, value in headers.items() if name in _REPLAYED_HEADERS}
        created = context.facts[0] if context.facts else None
        await session.execute(
            update(_keys)
            .where(_keys.c.client_id == self.client_id, _keys.c.key == self.key)
            .values(
                status_code=status,
                body=body.decode(),
                headers=kept,
                resource_type=created.resource_type if created else None,
                resource_id=created.resource_id if created else None,
                child_id=created.child_id if created else None,
            )
        )


def _request_hash(operation: str, body: bytes) -> str:
    try:
        canonical = orjson.dumps(orjson.loads(body or b"null"), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(operation.encode() + b"\0" + canonical).hexdigest()


async def claim_key(session: AsyncSession, context: RequestContext, operation: str, key: str, body: bytes) -> Claim:
    """Claim `key` for this request, or raise Replay / 422 when it was used before."""
    assert context.caller is not None
    client_id = context.caller.client_id
    request_hash = _request_hash(operation, body)
    now = utcnow()
    dialect = session.get_bind().dialect.name
    await session.execute(
        delete(_keys).where(_keys.c.client_id == client_id, _keys.c.key == key, _keys.c.created_at < now - RETENTION)
    )
    inserted = await session.execute(
        insert_ignoring_conflict(dialect, _keys, "client_id", "key")
        .values(client_id=client_id, key=key, operation=operation, request_hash=request_hash, created_at=now)
        .returning(_keys.c.key)
    )
    if inserted.first() is not None:
        return Claim(client_id, key)
    existing = (await session.execute(select(_keys).where(_keys.c.client_id == client_id, _keys.c.key == key))).one()
    if existing.request_hash != request_hash:
        raise unprocessable(["header", "Idempotency-Key"], "this key was used with another request body or operation")
    context.audit(existing.resource_type, existing.resource_id, existing.child_id)
    context.extra["idempotent_replay"] = True
    raise Replay(existing.status_code or 200, (existing.body or "").encode(), dict(existing.headers or {}))


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=_KEY_PATTERN,
        description="Makes a retry safe: the same key and body return the first response (kept 24 h).",
    ),
]


async def idempotency(request: Request, idempotency_key: IdempotencyKeyHeader = None) -> Claim | None:
    """The route dependency: claims the key before the handler runs (or replays)."""
    if idempotency_key is None:
        return None
    context = get_context(request)
    route = request.scope.get("route")
    operation = getattr(route, "operation_id", None) or request.url.path
    claim = await claim_key(context.session(), context, operation, idempotency_key, await request.body())
    context.extra["idempotency_claim"] = claim
    return claim


IdempotencyDep = Annotated[Claim | None, Depends(idempotency)]
