"""Searching child records through their services: one page, its log facts and its next cursor.

The JSON lists page by (`created_at`, `id`) with a signed cursor; the FHIR searches reuse that
codec with a kind of their own (`fhir:Task`, …), so a JSON cursor is no FHIR cursor and back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.views import FhirCall, Resource, SearchQuery, SearchResult
from app.http.paging import CreatedPaging
from app.security.caller import Caller

# A service's list function: (session, caller, child_id, after, limit) → rows, oldest first.
Lister = Callable[
    [AsyncSession, Caller, uuid.UUID | None, tuple[datetime, uuid.UUID] | None, int], Awaitable[Sequence[Row[Any]]]
]
Builder = Callable[[FhirCall, list[Row[Any]]], Awaitable[list[Resource]]]


async def search_records(
    call: FhirCall, query: SearchQuery, resource_type: str, log_type: str, lister: Lister, build: Builder
) -> SearchResult:
    """A page of the caller's visible records, logged as the JSON list logs it: one fact per child."""
    kind, owner = f"fhir:{resource_type}", call.caller.client_id
    paging = CreatedPaging.resume(call.cursors, query.cursor, kind, owner, query.binding, query.count)
    rows, next_cursor = paging.cut(await lister(call.session, call.caller, query.child_id, paging.after, paging.fetch))
    call.context.audit_children(log_type, [row.child_id for row in rows])
    return SearchResult(await build(call, rows), next_cursor)
