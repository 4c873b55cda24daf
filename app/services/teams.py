"""The child's team: forming it, its memberships, closing it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.enums import EventType, RecordType
from app.errors import (
    MemberNeedsConsent,
    MembershipAlreadyEnded,
    NotFound,
    TeamAlreadyOpen,
    TeamClosed,
    TeamRoleTaken,
    unprocessable,
)
from app.events.outbox import publish
from app.models.agency import Agency
from app.models.base import table_of, utcnow
from app.models.team import CLOSED, OPEN, Team, TeamMember
from app.schemas.team import MemberCreate, TeamCreate
from app.security.access import caller_parameters, caller_rule, consent_links
from app.security.caller import Caller
from app.security.records import visible_page
from app.services.children import lock_child

_teams = table_of(Team)
_members = table_of(TeamMember)


@dataclass(frozen=True)
class TeamView:
    team: Team | Row[Any]
    members: list[TeamMember]


async def form_team(session: AsyncSession, caller: Caller, data: TeamCreate) -> TeamView:
    """One open team per child among the agencies that can see it.

    The create is refused only when the caller may see an open team for the child: a team the
    caller cannot see neither blocks it nor is revealed by it, so an unrelated agency cannot
    "squat" the child's team. Creates for one child are serialised by a lock on the child, so two
    concurrent creates in one circle cannot both win (the database backs this up with one open
    team per child and agency).
    """
    await lock_child(session, data.child_id)
    visible_open = select(_teams.c.id).where(
        _teams.c.child_id == data.child_id, _teams.c.status == OPEN, caller_rule("team")
    )
    if (await session.execute(visible_open.limit(1), caller_parameters(caller.agency_id))).first() is not None:
        raise TeamAlreadyOpen("The child already has an open team that your agency can see; close it first.")
    team = Team(child_id=data.child_id, agency_id=caller.agency_id, purpose=data.purpose, status=OPEN)
    session.add(team)
    try:
        await session.flush()
    except IntegrityError:  # the one-open-team-per-child-and-agency index
        raise TeamAlreadyOpen("The child already has an open team that your agency can see; close it first.") from None
    await _publish(session, EventType.team_created, team, caller)
    return TeamView(team, [])


async def _publish(session: AsyncSession, event_type: EventType, team: Team, caller: Caller) -> None:
    await publish(
        session,
        event_type,
        resource_type="team",
        record_id=team.id,
        child_id=team.child_id,
        actor_agency_id=caller.agency_id,
    )


async def views_of(session: AsyncSession, teams: Sequence[Team | Row[Any]]) -> list[TeamView]:
    ids = [team.id for team in teams]
    members: dict[uuid.UUID, list[TeamMember]] = {team_id: [] for team_id in ids}
    if ids:
        rows = await session.execute(
            select(TeamMember).where(_members.c.team_id.in_(ids)).order_by(_members.c.started_at, _members.c.id)
        )
        for member in rows.scalars():
            members[member.team_id].append(member)
    return [TeamView(team, members[team.id]) for team in teams]


async def list_teams(
    session: AsyncSession,
    caller: Caller,
    child_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    conditions = [] if child_id is None else [_teams.c.child_id == child_id]
    return await visible_page(session, caller, "team", after, limit, *conditions)


def _ensure_open(team: Team) -> None:
    if team.status != OPEN:
        raise TeamClosed("The team is closed.")


async def add_member(session: AsyncSession, caller: Caller, team: Team, data: MemberCreate) -> TeamMember:
    _ensure_open(team)
    if await session.get(Agency, data.agency_id) is None:
        raise unprocessable(["body", "agency_id"], f"there is no agency {data.agency_id!r}")
    if data.agency_id != team.agency_id:
        # The member's agency will see the team by the access rule, so the same consent is needed:
        # active, naming both, covering teams, and confirmed by the team's agency (it discloses).
        linked = consent_links(team.child_id, data.agency_id, team.agency_id, RecordType.teams, utcnow())
        if not (await session.execute(select(linked))).scalar():
            raise MemberNeedsConsent(
                "A member from another agency needs an active consent for the child that names the "
                "team's agency and the member's agency, covers teams and is confirmed by the team's agency."
            )
    member = TeamMember(
        team_id=team.id,
        agency_id=data.agency_id,
        role=data.role.value,
        person_name=data.person_name,
        person_title=data.person_title,
        started_at=utcnow(),
        added_by_agency_id=caller.agency_id,
    )
    session.add(member)
    try:
        await session.flush()
    except IntegrityError:  # at most one active contact person and one active coordinator
        raise TeamRoleTaken(f"The team already has an active {data.role.value}.") from None
    await _publish(session, EventType.team_member_added, team, caller)
    return member


async def find_member(session: AsyncSession, team: Team, member_id: uuid.UUID) -> TeamMember:
    member = await session.get(TeamMember, member_id)
    if member is None or member.team_id != team.id:
        raise NotFound("There is no such member in this team.")
    return member


async def end_member(session: AsyncSession, caller: Caller, team: Team, member_id: uuid.UUID) -> TeamMember:
    member = await find_member(session, team, member_id)
    if member.ended_at is not None:
        raise MembershipAlreadyEnded("The membership has already ended.")
    member.ended_at = utcnow()
    await session.flush()
    await _publish(session, EventType.team_member_ended, team, caller)
    return member


async def close_team(session: AsyncSession, caller: Caller, team: Team) -> TeamView:
    _ensure_open(team)
    now = utcnow()
    team.status = CLOSED
    team.closed_at = now
    (view,) = await views_of(session, [team])
    for member in view.members:
        if member.ended_at is None:
            member.ended_at = now
    await session.flush()
    await _publish(session, EventType.team_closed, team, caller)
    return view
