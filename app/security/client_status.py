"""Is the calling client still allowed? Checked where the request's log entries commit.

A token stays valid for minutes, but revoking its client must stop it at once. Every request
with a caller is therefore checked against the clients table in the very transaction that
commits its access-log entries — for a write, its own transaction; for a read or a denial, the
group commit, one query for the whole batch. A revoked client's request commits nothing, sends
no data, and is answered and logged as 401.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models.agency import Client
from app.models.base import table_of
from app.security.caller import Caller

_clients = table_of(Client)
# Built once: on a write it runs on every request, and building it cost more than running it.
_BY_IDS = select(_clients.c.client_id, _clients.c.agency_id, _clients.c.revoked_at).where(
    _clients.c.client_id.in_(bindparam("client_ids", expanding=True))
)


async def rejected_clients(connection: AsyncConnection, callers: Iterable[Caller]) -> set[str]:
    """The client ids among `callers` that are unknown, revoked, or no longer of the token's agency."""
    wanted = {caller.client_id: caller.agency_id for caller in callers}
    if not wanted:
        return set()
    rows = await connection.execute(_BY_IDS, {"client_ids": sorted(wanted)})
    valid = {row.client_id for row in rows if row.revoked_at is None and row.agency_id == wanted[row.client_id]}
    return set(wanted) - valid
