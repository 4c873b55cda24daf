"""Reading the chained log: entries with their place in the chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Join, Select, and_, select

from app.audit.chain import EXTENSION_FIELDS, HASHED_FIELDS
from app.models.audit import AccessLogChainLink, AccessLogEntry
from app.models.base import table_of

log = table_of(AccessLogEntry)
chain = table_of(AccessLogChainLink)

# An entry's own fields: what its hash covers, without the chain's (seq, prev_hash).
PUBLIC_COLUMNS = tuple(name for name in HASHED_FIELDS if name not in ("seq", "prev_hash")) + EXTENSION_FIELDS


# The link names its entry by id, and by time: the log is partitioned by month on `at`, so the
# time lets PostgreSQL read the one partition that can hold the entry (migration 0029).
CHAIN_TO_LOG: ColumnElement[bool] = and_(log.c.id == chain.c.entry_id, log.c.at == chain.c.at)
CHAIN_TO_LOG_SQL = "e.id = c.entry_id AND e.at = c.at"


def _entries_in_chain(joined: Join) -> Select[Any]:
    return select(chain.c.seq, *(log.c[name] for name in PUBLIC_COLUMNS), chain.c.prev_hash, chain.c.hash).select_from(
        joined
    )


def chained_entries() -> Select[Any]:
    """Entries that have their place in the chain, with seq, prev_hash and hash."""
    return _entries_in_chain(chain.join(log, CHAIN_TO_LOG))


# From an entry to its link, by id alone: where the entries drive the join (a child's report,
# read through the child's index), the time adds nothing, and with both conditions PostgreSQL
# multiplies two selectivities of one fact (a link's time is its entry's), estimates one row for
# any such join, and sorts all of a hot child's 84 000 entries to serve a page of 50 — 150× the
# ordered index scan it otherwise chooses (bench/child_report.py at 10⁷ entries).
LOG_TO_CHAIN: ColumnElement[bool] = log.c.id == chain.c.entry_id


def entries_with_links() -> Select[Any]:
    """`chained_entries`, joined from the entry's side (LOG_TO_CHAIN)."""
    return _entries_in_chain(log.join(chain, LOG_TO_CHAIN))
