"""Agency clients: creation (secret shown once), revocation, and client authentication."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.enums import EventType
from app.errors import ClientAlreadyRevoked, NotFound, unprocessable
from app.events.outbox import publish_to
from app.models.agency import Agency, Client
from app.models.base import utcnow
from app.security.scopes import scopes_for
from app.security.secrets import hash_secret, new_client_id, new_client_secret, verify_secret
from app.services.subscriptions import disable_subscriptions_of

# argon2 is memory-hard by design (19 MiB a hash). It runs on one dedicated thread per process,
# so a burst of token requests queues instead of multiplying memory and thrashing the CPUs, and
# so the allocator keeps those megabytes in one arena, not in one per thread of the general pool
# (measured: 400 MB more per worker after a burst, without it). One, not one per core: the
# service runs a worker per core, so the workers' threads together already hash on every core,
# and each thread more adds its 19 MiB to every worker's peak (issue 23: a burst took a worker
# from 109 to 153 MB with two threads, to 136 MB with one, at the same rate of tokens issued).
T = TypeVar("T")
_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


async def _in_hashing_thread(function: Callable[..., T], *arguments: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, function, *arguments)


@dataclass(frozen=True)
class AuthenticatedClient:
    client: Client
    agency_kind: str

    @property
    def scopes(self) -> frozenset[str]:
        return scopes_for(self.agency_kind, self.client.role)


async def create_client(
    session: AsyncSession,
    *,
    agency_id: str,
    role: str,
    name: str,
    platform: bool = False,
    actor_agency_id: str | None = None,
) -> tuple[Client, str, str]:
    """A new client, its agency's kind and its secret (returned once, never stored in clear).

    The client's agency learns of it (`client.created` in its feed), so that its own people see
    a client they did not make. `actor_agency_id` is the admin's agency (None: the operator).
    """
    if platform and role != "admin":
        raise unprocessable(["platform"], "only an admin client can be a platform admin")
    # Hashed before the first statement: the hashing threads may queue behind a burst of token
    # requests, and a transaction left idle meanwhile would hold the log's chain back (and be
    # ended by the idle-in-transaction timeout, app/db.py).
    secret = new_client_secret()
    secret_hash = await _in_hashing_thread(hash_secret, secret)
    agency = await session.get(Agency, agency_id)
    if agency is None:
        raise unprocessable(["body", "agency_id"], f"there is no agency {agency_id!r}")
    client = Client(
        client_id=new_client_id(),
        secret_hash=secret_hash,
        agency_id=agency_id,
        role=role,
        name=name,
        platform=platform,
    )
    session.add(client)
    await session.flush()
    await _publish(session, EventType.client_created, client, actor_agency_id)
    return client, agency.kind, secret


async def _publish(session: AsyncSession, event_type: EventType, client: Client, actor_agency_id: str | None) -> None:
    await publish_to(
        session,
        event_type,
        resource_type="client",
        record_id=client.client_id,
        agency_ids=[client.agency_id],
        actor_agency_id=actor_agency_id,
    )


async def list_clients(
    session: AsyncSession, after: tuple[datetime, str] | None, limit: int, agency_id: str | None = None
) -> list[tuple[Client, str]]:
    """Clients oldest first — of one agency, or (None) of every agency."""
    statement = (
        select(Client, Agency.kind)
        .join(Agency, col(Agency.id) == col(Client.agency_id))
        .order_by(col(Client.created_at), col(Client.client_id))
        .limit(limit)
    )
    if agency_id is not None:
        statement = statement.where(col(Client.agency_id) == agency_id)
    if after is not None:
        created_at, client_id = after
        statement = statement.where(
            (col(Client.created_at) > created_at)
            | ((col(Client.created_at) == created_at) & (col(Client.client_id) > client_id))
        )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def get_client(session: AsyncSession, client_id: str, *, for_update: bool = False) -> tuple[Client, str]:
    statement = (
        select(Client, Agency.kind)
        .join(Agency, col(Agency.id) == col(Client.agency_id))
        .where(col(Client.client_id) == client_id)
    )
    if for_update:
        statement = statement.with_for_update(of=Client)
    row = (await session.execute(statement)).first()
    if row is None:
        raise NotFound(f"There is no client {client_id!r}.")
    return row[0], row[1]


async def revoke_client(
    session: AsyncSession, client_id: str, actor_agency_id: str | None = None
) -> tuple[Client, str]:
    """Revoke a client: its tokens stop at once; its agency learns of it (`client.revoked`)."""
    client, kind = await get_client(session, client_id, for_update=True)
    if client.revoked_at is not None:
        raise ClientAlreadyRevoked("The client is already revoked.")
    client.revoked_at = utcnow()
    await disable_subscriptions_of(session, client_id)  # its webhooks stop with its tokens
    await session.flush()
    await _publish(session, EventType.client_revoked, client, actor_agency_id)
    return client, kind


async def authenticate_client(session: AsyncSession, client_id: str, secret: str) -> AuthenticatedClient | None:
    """The client when the secret matches and it is not revoked; None otherwise.

    The hash check runs for unknown clients too (against a dummy hash), in a worker thread so
    the event loop keeps serving other requests while argon2 works.
    """
    row = (
        await session.execute(
            select(Client, Agency.kind)
            .join(Agency, col(Agency.id) == col(Client.agency_id))
            .where(col(Client.client_id) == client_id)
        )
    ).first()
    client, kind = (row[0], row[1]) if row is not None else (None, None)
    matches = await _in_hashing_thread(verify_secret, client.secret_hash if client else None, secret)
    if not matches or client is None or kind is None or client.revoked_at is not None:
        return None
    return AuthenticatedClient(client=client, agency_kind=kind)
