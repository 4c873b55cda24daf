"""Agency clients (administration): create (secret shown once), list, revoke. Scope `admin`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Response, Security

from app.enums import Role
from app.errors import ClientAlreadyRevoked
from app.http.deps import ContextDep, CursorsDep, SessionDep
from app.http.guard import current_caller
from app.http.paging import DEFAULT_LIMIT, CursorParam, LimitParam, split_page
from app.models.agency import Client
from app.routers.responses import LOCATION_HEADER, guarded_router, links, problems, success
from app.schemas.agency import ClientCreate, ClientCreated, ClientPublic
from app.schemas.common import Page
from app.security.admin import AdminAuthority, admin_authority
from app.security.caller import Caller
from app.security.scopes import scopes_for
from app.services import clients

router = guarded_router("clients")
Admin = Annotated[Caller, Security(current_caller, scopes=["admin"])]
ClientIdPath = Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


async def _authority(caller: Admin, session: SessionDep) -> AdminAuthority:
    return await admin_authority(session, caller)


Authority = Annotated[AdminAuthority, Depends(_authority)]


def _public(client: Client, kind: str) -> ClientPublic:
    return ClientPublic(
        client_id=client.client_id,
        agency_id=client.agency_id,
        role=Role(client.role),
        name=client.name,
        scopes=sorted(scopes_for(kind, client.role)),
        created_at=client.created_at,
        revoked_at=client.revoked_at,
        platform=client.platform,
    )


@router.post(
    "/clients",
    operation_id="clients-create",
    summary="Create an agency client",
    status_code=201,
    responses={
        201: {
            **success("Created; the secret is in this response only.", LOCATION_HEADER),
            **links(
                ("GetClient", "clients-get", {"client_id": "$response.body#/client_id"}),
                ("Revoke", "clients-revoke", {"client_id": "$response.body#/client_id"}),
            ),
        },
    },
)
async def create_client(
    data: ClientCreate,
    caller: Admin,
    authority: Authority,
    context: ContextDep,
    session: SessionDep,
    response: Response,
) -> ClientCreated:
    """Create a client for an agency's system. Its role decides its scopes. The secret is
    returned here once and stored only as a slow hash: keep it safe. An agency's admin creates
    practitioner and admin clients of its own agency (another agency: 403); auditor clients,
    which read every agency's access log, only a platform admin. The client's agency is told
    by a `client.created` event."""
    authority.require_may_create(data.agency_id, data.role)
    client, kind, secret = await clients.create_client(
        session, agency_id=data.agency_id, role=data.role, name=data.name, actor_agency_id=caller.agency_id
    )
    context.audit("client", client.client_id)
    response.headers["Location"] = f"/api/v1/clients/{client.client_id}"
    return ClientCreated(**_public(client, kind).model_dump(), client_secret=secret)


@router.get("/clients", operation_id="clients-list", summary="List clients")
async def list_clients(
    caller: Admin,
    authority: Authority,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[ClientPublic]:
    """The clients the caller administers — its own agency's, or every agency's for a platform
    admin — oldest first. Secrets are never shown again."""
    after = None
    if cursor:
        created, client_id = cursors.decode(cursor, "clients", caller.client_id, {})
        after = (datetime.fromisoformat(created), str(client_id))
    scope = None if authority.platform else authority.agency_id
    rows, last = split_page(await clients.list_clients(session, after, limit + 1, scope), limit)
    context.audit("client")
    next_cursor = (
        cursors.encode("clients", caller.client_id, {}, [last[0].created_at.isoformat(), last[0].client_id])
        if last
        else None
    )
    return Page[ClientPublic](items=[_public(client, kind) for client, kind in rows], next_cursor=next_cursor)


@router.post(
    "/clients/{client_id}/revoke",
    operation_id="clients-revoke",
    summary="Revoke a client",
    responses=problems(404, ClientAlreadyRevoked),
)
async def revoke_client(
    caller: Admin, authority: Authority, context: ContextDep, session: SessionDep, client_id: str = ClientIdPath
) -> ClientPublic:
    """Revoke a client: its unexpired tokens stop working at once, and it gets no new ones. An
    agency's admin revokes its own agency's clients (not a platform admin); its agency is told
    by a `client.revoked` event."""
    context.audit("client", client_id)
    target, _kind = await clients.get_client(session, client_id)
    authority.require_agency(target.agency_id)
    if target.platform:
        authority.require_platform("revoke a platform admin")
    client, kind = await clients.revoke_client(session, client_id, actor_agency_id=caller.agency_id)
    return _public(client, kind)


@router.get("/clients/{client_id}", operation_id="clients-get", summary="Get a client", responses=problems(404))
async def get_client(
    caller: Admin, authority: Authority, context: ContextDep, session: SessionDep, client_id: str = ClientIdPath
) -> ClientPublic:
    """One client: its agency, role and scopes (never its secret); another agency's is 403 to
    an agency's admin."""
    context.audit("client", client_id)
    client, kind = await clients.get_client(session, client_id)
    authority.require_agency(client.agency_id)
    return _public(client, kind)
