"""Agencies (administration): no child data here, scope `admin`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response, Security

from app.errors import AgencyAlreadyExists, NotFound
from app.http.deps import ContextDep, CursorsDep, SessionDep
from app.http.guard import current_caller
from app.http.paging import DEFAULT_LIMIT, CursorParam, LimitParam, split_page
from app.models.agency import Agency
from app.routers.responses import LOCATION_HEADER, guarded_router, link_to, problems, success
from app.schemas.agency import AgencyCreate, AgencyPublic
from app.schemas.common import Page
from app.security.admin import AdminAuthority, admin_authority
from app.security.caller import Caller
from app.services import agencies

router = guarded_router("agencies")
Admin = Annotated[Caller, Security(current_caller, scopes=["admin"])]


async def _authority(caller: Admin, session: SessionDep) -> AdminAuthority:
    return await admin_authority(session, caller)


Authority = Annotated[AdminAuthority, Depends(_authority)]


def _public(agency: Agency) -> AgencyPublic:
    return AgencyPublic.model_validate(agency, from_attributes=True)


@router.post(
    "/agencies",
    operation_id="agencies-create",
    summary="Register an agency",
    status_code=201,
    responses={
        201: {
            **success("Created.", LOCATION_HEADER),
            **link_to("GetAgency", "agencies-get", agency_id="$response.body#/id"),
        },
        **problems(AgencyAlreadyExists),
    },
)
async def create_agency(
    data: AgencyCreate,
    caller: Admin,
    authority: Authority,
    context: ContextDep,
    session: SessionDep,
    response: Response,
) -> AgencyPublic:
    """Register an agency with its kind and, where it has them, the identifiers its neighbours
    already use (organisation number, school-unit code, HSA-id). The id is a stable slug. Only
    a platform admin registers agencies (an agency's admin: 403)."""
    authority.require_platform("register agencies")
    agency = await agencies.create_agency(session, data)
    context.audit("agency", agency.id)
    response.headers["Location"] = f"/api/v1/agencies/{agency.id}"
    return _public(agency)


@router.get("/agencies", operation_id="agencies-list", summary="List agencies")
async def list_agencies(
    caller: Admin,
    authority: Authority,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[AgencyPublic]:
    """The agencies the caller administers, ordered by id: every agency for a platform admin,
    its own for an agency's admin."""
    after = cursors.decode(cursor, "agencies", caller.client_id, {})[0] if cursor else None
    scope = None if authority.platform else authority.agency_id
    rows, last = split_page(await agencies.list_agencies(session, after, limit + 1, scope), limit)
    context.audit("agency")
    next_cursor = cursors.encode("agencies", caller.client_id, {}, [last.id]) if last else None
    return Page[AgencyPublic](items=[_public(row) for row in rows], next_cursor=next_cursor)


@router.get("/agencies/{agency_id}", operation_id="agencies-get", summary="Get an agency", responses=problems(404))
async def get_agency(
    agency_id: str, caller: Admin, authority: Authority, context: ContextDep, session: SessionDep
) -> AgencyPublic:
    """One agency, with the identifiers its neighbours use; another agency is 403 to an agency's
    admin."""
    context.audit("agency", agency_id[:64])
    authority.require_agency(agency_id)
    agency = await agencies.get_agency(session, agency_id)
    if agency is None:
        raise NotFound("There is no such agency.")
    return _public(agency)
