"""Appending to the access log: the one function that writes entries.

An append is a plain INSERT in the caller's transaction — no shared lock, so requests never
wait for each other here. The hash chain over the entries is built afterwards, in commit
order, by the sequencer (app/audit/sequencer.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.audit.chain import EXTENSION_FIELDS
from app.models.audit import AccessLogEntry
from app.models.base import table_of

_INSERT = insert(table_of(AccessLogEntry))
# A batch is one executemany, whose parameter sets must all name the same columns: an entry that
# leaves an extension field out (most do) stores null there, like one that says so.
_ABSENT_EXTENSIONS = dict.fromkeys(EXTENSION_FIELDS)


async def append(connection: AsyncConnection, entries: Sequence[dict[str, Any]]) -> None:
    """Insert `entries` in the connection's open transaction."""
    if entries:
        await connection.execute(_INSERT, [{**_ABSENT_EXTENSIONS, **entry} for entry in entries])
