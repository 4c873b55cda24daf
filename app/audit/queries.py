"""Reading the chained log: entries with their place in the chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from app.models.audit import AccessLogChainLink, AccessLogEntry
from app.models.base import table_of

log = table_of(AccessLogEntry)
chain = table_of(AccessLogChainLink)

PUBLIC_COLUMNS = (
    "at",
    "request_id",
    "client_id",
    "agency_id",
    "role",
    "action",
    "resource_type",
    "resource_id",
    "child_id",
    "method",
    "route",
    "status_code",
    "outcome",
    "jti",
    "purpose_of_use",
)


def chained_entries() -> Select[Any]:
    """Entries that have their place in the chain, with seq, prev_hash and hash."""
    return select(chain.c.seq, *(log.c[name] for name in PUBLIC_COLUMNS), chain.c.prev_hash, chain.c.hash).select_from(
        chain.join(log, log.c.id == chain.c.entry_id)
    )
