"""Agencies (administration): no child data here, scope `admin`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Response, Security

from app.dependencies import ContextDep, CursorsDep, SessionDep
from app.errors import NotFound
from app.models.agency import Agency
from app.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, split_page
from app.routers.responses import LOCATION_HEADER, guarded_router, link_to, problems, success
from app.schemas.agency import AgencyCreate, AgencyPublic
from app.schemas.common import Page
from app.security.caller import Caller
from app.security.guard import current_caller
from app.services import agencies

router = guarded_router("agencies")
Admin = Annotated[Caller, Security(current_caller, scopes=["admin"])]


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
        **problems(409),
    },
)
async def create_agency(
    data: AgencyCreate, caller: Admin, context: ContextDep, session: SessionDep, response: Response
) -> AgencyPublic:
    """Register an agency with its kind and, where it has them, the identifiers its neighbours
    already use (organisation number, school-unit code, HSA-id). The id is a stable slug."""
    agency = await agencies.create_agency(session, data)
    context.audit("agency", agency.id)
    response.headers["Location"] = f"/api/v1/agencies/{agency.id}"
    return _public(agency)


@router.get("/agencies", operation_id="agencies-list", summary="List agencies")
async def list_agencies(
    caller: Admin,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[AgencyPublic]:
    """All agencies, ordered by id."""
    after = cursors.decode(cursor, "agencies", caller.client_id, {})[0] if cursor else None
    rows, last = split_page(await agencies.list_agencies(session, after, limit + 1), limit)
    context.audit("agency")
    next_cursor = cursors.encode("agencies", caller.client_id, {}, [last.id]) if last else None
    return Page[AgencyPublic](items=[_public(row) for row in rows], next_cursor=next_cursor)


@router.get("/agencies/{agency_id}", operation_id="agencies-get", summary="Get an agency", responses=problems(404))
async def get_agency(agency_id: str, caller: Admin, context: ContextDep, session: SessionDep) -> AgencyPublic:
    """One agency, with the identifiers its neighbours use."""
    context.audit("agency", agency_id[:64])
    agency = await agencies.get_agency(session, agency_id)
    if agency is None:
        raise NotFound("There is no such agency.")
    return _public(agency)
