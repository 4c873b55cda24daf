"""A team → CareTeam. JSON twins: `teams-get`, `teams-list` (scope `teams:read`).

Every membership, ended ones included, is a participant with its period; the person is named as
the JSON API names them (a display, not a Practitioner resource this service does not hold),
acting on behalf of their agency.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from app.fhir.codes import TEAM_ROLE
from app.fhir.paging import search_records
from app.fhir.views import (
    PATIENT,
    SUBJECT,
    FhirCall,
    Resource,
    ResourceView,
    SearchQuery,
    SearchResult,
    coding,
    instant,
    record_id,
    reference,
)
from app.models.team import OPEN, Team, TeamMember
from app.security.records import fetch_visible
from app.services import teams
from app.services.teams import TeamView


def _period(start: Any, end: Any) -> Resource:
    period = {"start": instant(start)}
    if end is not None:
        period["end"] = instant(end)
    return period


def _participant(member: TeamMember) -> Resource:
    role: Resource = {"coding": [coding(TEAM_ROLE, member.role)]}
    if member.person_title:
        role["text"] = member.person_title
    return {
        "id": str(member.id),
        "role": [role],
        "member": {"display": member.person_name},
        "onBehalfOf": reference("Organization", member.agency_id),
        "period": _period(member.started_at, member.ended_at),
    }


def to_care_team(view: TeamView) -> Resource:
    team = view.team
    resource: Resource = {
        "resourceType": "CareTeam",
        "id": str(team.id),
        "status": "active" if team.status == OPEN else "inactive",
        "subject": reference("Patient", team.child_id),
        "period": _period(team.created_at, team.closed_at),
        "managingOrganization": [reference("Organization", team.agency_id)],
    }
    if view.members:
        resource["participant"] = [_participant(member) for member in view.members]
    if team.purpose:
        resource["note"] = [{"text": team.purpose}]
    return resource


async def read(call: FhirCall, raw_id: str) -> Resource:
    team = await fetch_visible(call.context, Team, "team", record_id(raw_id))
    (view,) = await teams.views_of(call.session, [team])
    return to_care_team(view)


async def _care_teams(call: FhirCall, rows: list[Row[Any]]) -> list[Resource]:
    return [to_care_team(view) for view in await teams.views_of(call.session, rows)]


async def search(call: FhirCall, query: SearchQuery) -> SearchResult:
    return await search_records(call, query, "CareTeam", "team", teams.list_teams, _care_teams)


VIEW = ResourceView(
    type="CareTeam",
    scopes=("teams:read",),
    twin="teams-get, teams-list",
    read=read,
    search=search,
    parameters=(PATIENT, SUBJECT),
    documentation="The child's team: managingOrganization the team's agency, participants every membership "
    "(ended ones with period.end), status active (open) or inactive (closed).",
)
