"""The child's team: form it, add and end members, close it (scopes `teams:*`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Response, Security

from app.errors import MemberNeedsConsent, MembershipAlreadyEnded, TeamAlreadyOpen, TeamClosed, TeamRoleTaken
from app.http.deps import ContextDep, CursorsDep, SessionDep
from app.http.etag import with_etag
from app.http.guard import current_caller
from app.http.idempotency import IdempotencyDep
from app.http.loaders import changeable, visible
from app.http.paging import (
    DEFAULT_LIMIT,
    CreatedPaging,
    CursorParam,
    LimitParam,
)
from app.models.team import Team, TeamMember
from app.routers.responses import ETAG_HEADER, LOCATION_HEADER, created, guarded_router, links, problems, success
from app.schemas.common import Page
from app.schemas.team import MemberCreate, MemberPublic, TeamCreate, TeamPublic
from app.security.caller import Caller
from app.services import teams
from app.services.teams import TeamView

router = guarded_router("teams")
TeamsReader = Annotated[Caller, Security(current_caller, scopes=["teams:read"])]
TeamsWriter = Annotated[Caller, Security(current_caller, scopes=["teams:write"])]
VisibleTeam = Annotated[Team, Depends(visible(Team, "team", "team_id"))]
ChangeableTeam = Annotated[Team, Depends(changeable(Team, "team", "team_id"))]


def _member(member: TeamMember) -> MemberPublic:
    return MemberPublic.model_validate(member, from_attributes=True)


def _public(view: TeamView) -> TeamPublic:
    team = view.team
    return TeamPublic(
        id=team.id,
        child_id=team.child_id,
        agency_id=team.agency_id,
        purpose=team.purpose,
        status=team.status,
        closed_at=team.closed_at,
        created_at=team.created_at,
        members=[_member(member) for member in view.members],
    )


@router.post(
    "/teams",
    operation_id="teams-create",
    summary="Form the child's team",
    status_code=201,
    responses={
        201: created(
            "Formed.",
            ("GetTeam", "teams-get", {"team_id": "$response.body#/id"}),
            ("AddMember", "teams-add-member", {"team_id": "$response.body#/id"}),
            ("Close", "teams-close", {"team_id": "$response.body#/id"}),
        ),
        **problems(TeamAlreadyOpen),
    },
)
async def form_team(
    data: TeamCreate,
    caller: TeamsWriter,
    context: ContextDep,
    session: SessionDep,
    response: Response,
    _idempotency: IdempotencyDep,
) -> TeamPublic:
    """One open team per child: a second is 409 (which tells the caller that the child has a
    team, nothing more). The caller's agency is the team's."""
    view = await teams.form_team(session, caller, data)
    context.audit("team", view.team.id, view.team.child_id)
    response.headers["Location"] = f"/api/v1/teams/{view.team.id}"
    return with_etag(response, _public(view))


@router.get(
    "/teams/{team_id}",
    operation_id="teams-get",
    summary="Get a team",
    responses={200: success("The team, with every membership.", ETAG_HEADER), **problems(404)},
)
async def get_team(caller: TeamsReader, team: VisibleTeam, session: SessionDep, response: Response) -> TeamPublic:
    """Visible to the team's agency, and to an agency named with it in an active consent for
    the child that covers teams (a member's agency loses sight of it when that consent ends)."""
    (view,) = await teams.views_of(session, [team])
    return with_etag(response, _public(view))


@router.get("/teams", operation_id="teams-list", summary="List teams")
async def list_teams(
    caller: TeamsReader,
    context: ContextDep,
    session: SessionDep,
    cursors: CursorsDep,
    child_id: uuid.UUID | None = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> Page[TeamPublic]:
    """The teams the caller's agency may see, oldest first, with their memberships."""
    binding = {"child_id": child_id}
    paging = CreatedPaging.resume(cursors, cursor, "teams", caller.client_id, binding, limit)
    rows, next_cursor = paging.cut(await teams.list_teams(session, caller, child_id, paging.after, paging.fetch))
    context.audit_rows("team", rows)
    return Page[TeamPublic](
        items=[_public(view) for view in await teams.views_of(session, rows)], next_cursor=next_cursor
    )


@router.post(
    "/teams/{team_id}/members",
    operation_id="teams-add-member",
    summary="Add a member",
    status_code=201,
    responses={
        201: {
            **success("Added.", LOCATION_HEADER),
            **links(
                (
                    "GetMember",
                    "teams-get-member",
                    {"team_id": "$request.path.team_id", "member_id": "$response.body#/id"},
                ),
                (
                    "EndMember",
                    "teams-end-member",
                    {"team_id": "$request.path.team_id", "member_id": "$response.body#/id"},
                ),
            ),
        },
        **problems(404, TeamClosed, MemberNeedsConsent, TeamRoleTaken),
    },
)
async def add_member(
    data: MemberCreate,
    caller: TeamsWriter,
    session: SessionDep,
    response: Response,
    _idempotency: IdempotencyDep,
    team: ChangeableTeam,
) -> MemberPublic:
    """By the team's agency or its coordinator's. At most one active contact person and one
    active coordinator (409). A member from another agency than the team's needs an active
    consent for the child naming both agencies and covering teams (409 without)."""
    member = await teams.add_member(session, caller, team, data)
    response.headers["Location"] = f"/api/v1/teams/{team.id}/members/{member.id}"
    return _member(member)


@router.get(
    "/teams/{team_id}/members/{member_id}",
    operation_id="teams-get-member",
    summary="Get a membership",
    responses=problems(404),
)
async def get_member(
    team_id: uuid.UUID, member_id: uuid.UUID, team: VisibleTeam, caller: TeamsReader, session: SessionDep
) -> MemberPublic:
    """One membership of a team the caller may see, ended or not."""
    return _member(await teams.find_member(session, team, member_id))


@router.delete(
    "/teams/{team_id}/members/{member_id}",
    operation_id="teams-end-member",
    summary="End a membership",
    responses=problems(404, MembershipAlreadyEnded),
)
async def end_member(
    team_id: uuid.UUID, member_id: uuid.UUID, team: ChangeableTeam, caller: TeamsWriter, session: SessionDep
) -> MemberPublic:
    """Sets `ended_at`; the membership stays on record and in the team's history."""
    return _member(await teams.end_member(session, caller, team, member_id))


@router.post(
    "/teams/{team_id}/close",
    operation_id="teams-close",
    summary="Close the team",
    responses={200: success("Closed.", ETAG_HEADER), **problems(404, TeamClosed)},
)
async def close_team(caller: TeamsWriter, team: ChangeableTeam, session: SessionDep, response: Response) -> TeamPublic:
    """By the team's agency or its coordinator's; active memberships end with it. A new team
    can then be formed for the child."""
    return with_etag(response, _public(await teams.close_team(session, caller, team)))
