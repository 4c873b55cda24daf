"""Appending to the access log: the one function that writes entries, under the head's lock.

Callers hand over entries without `seq`/`prev_hash`/`hash`; this assigns them while holding the
journal head row's lock (SELECT … FOR UPDATE on PostgreSQL; SQLite's write lock, taken by
BEGIN IMMEDIATE). The lock is taken last, right before COMMIT, so it is held for two short
statements and the commit itself rather than for the whole request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.chain import entry_hash
from app.models.audit import AccessLogEntry, JournalHead
from app.models.base import table_of

HEAD_ID = 1
_log = table_of(AccessLogEntry)
_head = table_of(JournalHead)


async def append(
    connection: AsyncConnection,
    entries: Sequence[dict[str, Any]],
) -> None:
    """Chain and insert `entries` in the connection's open transaction."""
    if not entries:
        return
    head = (
        await connection.execute(
            select(_head.c.log_seq, _head.c.log_hash).where(_head.c.id == HEAD_ID).with_for_update()
        )
    ).one()
    seq, prev_hash = head.log_seq, head.log_hash
    rows = []
    for entry in entries:
        seq += 1
        row = {**entry, "seq": seq, "prev_hash": prev_hash}
        prev_hash = row["hash"] = entry_hash(row)
        rows.append(row)
    await connection.execute(insert(_log), rows)
    await connection.execute(
        update(_head).where(_head.c.id == HEAD_ID).values(log_seq=seq, log_hash=prev_hash)
    )
