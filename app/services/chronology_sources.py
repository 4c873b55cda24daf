"""Where the child's chronology comes from: one source per kind of child record.

A source names the record type (as events and the log name it), the scope that reads it, and
the SELECTs ("branches") that turn the *visible* records of one child into chronology items.
Visibility is the access rule itself: each source starts from a CTE of the child's records that
`caller_rule` lets the caller see, so an item of a record the caller may not see is never
produced — decided in the database, never after loading. A new record type is one more entry
in `SOURCES` (the child's plan was).

Every branch yields the columns of `item()`: `at`, `kind` (an event type name), `record_type`,
`record_id`, `agency_id` (who did it), `part` (tells apart several items of one kind on one
record: a status, a member, a confirming agency) and `code`, `code2`, `detail` — codes only,
from which the source's `summaries` write the item's summary. No branch selects free text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    JSON,
    ColumnElement,
    Label,
    Row,
    Select,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    exists,
    literal_column,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement, GenericFunction

from app.enums import Area, EventType
from app.models.assessment import Assessment
from app.models.base import UTCDateTime, table_of
from app.models.concern import Concern
from app.models.consent import Consent, ConsentConfirmation, ConsentWithdrawal
from app.models.plan import Plan, PlanAction, PlanGoal, PlanReview
from app.models.team import Team, TeamMember
from app.security.access import StatementTime, caller_rule

CHILD = bindparam("child_id", type_=Uuid())


# -- JSON in SQL, on both dialects ----------------------------------------------------------------
class json_elements(GenericFunction[Any]):  # noqa: N801 - SQL function naming
    """The elements of a JSON array as rows (`value`): SQLite's json_each, PostgreSQL's
    json_array_elements (concerns keep their status history as a JSON array)."""

    name = "json_each"
    inherit_cache = True


@compiles(json_elements, "postgresql")
def _json_elements_postgresql(element: json_elements, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array_elements({compiler.process(element.clauses, **kw)})"


class json_text(FunctionElement[str]):  # noqa: N801 - SQL function naming
    """A JSON object's member as text; `key` is one of this module's constants, never input."""

    type = String()
    inherit_cache = True

    def __init__(self, value: ColumnElement[Any], key: str) -> None:
        self.key = key
        super().__init__(value)


@compiles(json_text)
def _json_text_sqlite(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_extract({compiler.process(element.clauses, **kw)}, '$.{element.key}')"


@compiles(json_text, "postgresql")
def _json_text_postgresql(element: json_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} ->> '{element.key}')"


class json_time(json_text):  # noqa: N801 - SQL function naming
    """A JSON member holding `datetime.isoformat()` of a UTC time, as the dialect stores times.

    On SQLite, times are text `YYYY-MM-DD HH:MM:SS.ffffff` (naive UTC) and sort as such; the
    history's `2026-12-02T16:53:52.123456+00:00` (no fraction when it is zero) is brought to that
    form, so it sorts with the other items and reads back like any UTCDateTime column. Every
    history entry is written in UTC (app/services/concerns.py), so the offset can be dropped.
    """

    type = UTCDateTime()  # type: ignore[assignment]
    inherit_cache = True


@compiles(json_time)
def _json_time_sqlite(element: json_time, compiler: SQLCompiler, **kw: Any) -> str:
    text = _json_text_sqlite(element, compiler, **kw)
    return (
        f"(replace(substr({text}, 1, 19), 'T', ' ') || "
        f"CASE WHEN substr({text}, 20, 1) = '.' THEN substr({text}, 20, 7) ELSE '.000000' END)"
    )


@compiles(json_time, "postgresql")
def _json_time_postgresql(element: json_time, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({_json_text_postgresql(element, compiler, **kw)} AS TIMESTAMP WITH TIME ZONE)"


# -- items -------------------------------------------------------------------------------------
def _constant(value: str) -> ColumnElement[str]:
    return literal_column(f"'{value}'", String())  # our own constants (event types, record types)


def _text_or_null(value: ColumnElement[Any] | None) -> ColumnElement[Any]:
    return type_coerce(null(), String()) if value is None else type_coerce(value, String())


def item(
    *,
    at: ColumnElement[Any],
    kind: EventType,
    record_type: str,
    record_id: ColumnElement[Any],
    agency_id: ColumnElement[Any],
    part: ColumnElement[Any] | None = None,
    code: ColumnElement[Any] | None = None,
    code2: ColumnElement[Any] | None = None,
    detail: ColumnElement[Any] | None = None,
) -> list[Label[Any]]:
    """The columns every branch yields, typed alike so the UNION reads back the same."""
    return [
        type_coerce(at, UTCDateTime()).label("at"),
        _constant(kind.value).label("kind"),
        _constant(record_type).label("record_type"),
        type_coerce(record_id, Uuid()).label("record_id"),
        type_coerce(agency_id, String()).label("agency_id"),
        (_constant("") if part is None else type_coerce(part, String())).label("part"),
        _text_or_null(code).label("code"),
        _text_or_null(code2).label("code2"),
        type_coerce(null() if detail is None else detail, JSON()).label("detail"),
    ]


@dataclass(frozen=True, eq=False)  # hashed by identity: statements are cached per set of sources
class ChronologySource:
    record_type: str  # as events and the access log name it
    scope: str  # a caller without it gets none of these items
    table: Table
    branches: Callable[[CTE], list[Select[Any]]]
    summaries: Mapping[EventType, Callable[[Row[Any]], str]]  # per kind, from the item's codes

    def visible(self) -> CTE:
        """The child's records of this type that the caller may see (the access rule)."""
        return (
            select(self.table)
            .where(self.table.c.child_id == CHILD, caller_rule(self.record_type))
            .cte(f"visible_{self.record_type}s")
        )


# -- the sources ---------------------------------------------------------------------------------
def _concern_branches(concerns: CTE) -> list[Select[Any]]:
    entry = json_elements(concerns.c.status_history).table_valued("value").alias("history_entry")
    status = json_text(entry.c.value, "status")
    common: dict[str, Any] = {"record_type": "concern", "record_id": concerns.c.id}
    return [
        select(
            *item(
                at=concerns.c.created_at,
                kind=EventType.concern_received,
                agency_id=concerns.c.agency_id,
                code=concerns.c.urgency,
                code2=concerns.c.report_to_agency_id,
                detail=concerns.c.areas,
                **common,
            )
        ),
        # The first entry is the concern's receipt, above. A concern's workflow has no cycles, so
        # its status tells its changes apart.
        select(
            *item(
                at=json_time(entry.c.value, "changed_at"),
                kind=EventType.concern_status_changed,
                agency_id=json_text(entry.c.value, "agency_id"),
                part=status,
                code=status,
                code2=json_text(entry.c.value, "from_status"),
                **common,
            )
        )
        .select_from(concerns.join(entry, true()))
        .where(status != "received"),
        select(
            *item(
                at=concerns.c.decided_at,
                kind=EventType.concern_decision_recorded,
                agency_id=concerns.c.decision_agency_id,
                code=concerns.c.decision,
                **common,
            )
        ).where(concerns.c.decision.is_not(None)),
    ]


def _assessment_branches(assessments: CTE) -> list[Select[Any]]:
    # `detail` is the areas object; the summary takes only its area codes and ratings from it.
    return [
        select(
            *item(
                at=assessments.c.assessed_at,
                kind=EventType.assessment_recorded,
                record_type="assessment",
                record_id=assessments.c.id,
                agency_id=assessments.c.agency_id,
                code=assessments.c.perspective,
                detail=assessments.c.areas,
            )
        )
    ]


_COVERED = ("concerns", "assessments", "teams", "plans", "signals")


def _record_types(consents: CTE) -> ColumnElement[str]:
    """The record types a consent covers, space-separated (codes)."""
    words = [case((consents.c[f"covers_{name}"].is_(True), f"{name} "), else_="") for name in _COVERED]
    joined: ColumnElement[str] = words[0]
    for word in words[1:]:
        joined = joined.concat(word)
    return joined


def _consent_branches(consents: CTE) -> list[Select[Any]]:
    confirmations, withdrawals = table_of(ConsentConfirmation), table_of(ConsentWithdrawal)
    common: dict[str, Any] = {"record_type": "consent", "record_id": consents.c.id}
    withdrawn_before_end = exists().where(
        withdrawals.c.consent_id == consents.c.id, withdrawals.c.withdrawn_at <= consents.c.valid_until
    )
    return [
        select(
            *item(
                at=consents.c.created_at,
                kind=EventType.consent_recorded,
                agency_id=consents.c.agency_id,
                code=_record_types(consents),
                **common,
            )
        ),
        # The recording agency confirms by recording: that is the item above.
        select(
            *item(
                at=confirmations.c.confirmed_at,
                kind=EventType.consent_confirmed,
                agency_id=confirmations.c.agency_id,
                part=confirmations.c.agency_id,
                **common,
            )
        ).select_from(
            consents.join(
                confirmations,
                and_(confirmations.c.consent_id == consents.c.id, confirmations.c.agency_id != consents.c.agency_id),
            )
        ),
        select(
            *item(
                at=withdrawals.c.withdrawn_at,
                kind=EventType.consent_withdrawn,
                agency_id=withdrawals.c.agency_id,
                code=json_text(withdrawals.c.withdrawn_by, "role"),
                **common,
            )
        ).select_from(consents.join(withdrawals, withdrawals.c.consent_id == consents.c.id)),
        select(
            *item(at=consents.c.valid_until, kind=EventType.consent_expired, agency_id=consents.c.agency_id, **common)
        ).where(consents.c.valid_until <= StatementTime(), ~withdrawn_before_end),
    ]


def _team_branches(teams: CTE) -> list[Select[Any]]:
    members = table_of(TeamMember)
    common: dict[str, Any] = {"record_type": "team", "record_id": teams.c.id}
    member: dict[str, Any] = {
        "part": cast(members.c.id, String()),
        "code": members.c.role,
        "code2": members.c.agency_id,
    }
    with_members = teams.join(members, members.c.team_id == teams.c.id)
    return [
        select(*item(at=teams.c.created_at, kind=EventType.team_created, agency_id=teams.c.agency_id, **common)),
        select(
            *item(
                at=members.c.started_at,
                kind=EventType.team_member_added,
                agency_id=members.c.added_by_agency_id,
                **member,
                **common,
            )
        ).select_from(with_members),
        # Memberships that ended with the team's closing are part of that one item, as in the events.
        select(
            *item(
                at=members.c.ended_at,
                kind=EventType.team_member_ended,
                agency_id=teams.c.agency_id,
                **member,
                **common,
            )
        )
        .select_from(with_members)
        .where(
            members.c.ended_at.is_not(None), or_(teams.c.closed_at.is_(None), members.c.ended_at != teams.c.closed_at)
        ),
        select(*item(at=teams.c.closed_at, kind=EventType.team_closed, agency_id=teams.c.agency_id, **common)).where(
            teams.c.closed_at.is_not(None)
        ),
    ]


def _plan_branches(plans: CTE) -> list[Select[Any]]:
    """A plan's life: created, its goals and actions added, its actions' status changes, its
    reviews, its closing. Goals, actions and reviews are the plan's own rows (visible with it);
    only their codes are selected — a goal's or action's text, notes and views stay out."""
    goals, actions, reviews = table_of(PlanGoal), table_of(PlanAction), table_of(PlanReview)
    common: dict[str, Any] = {"record_type": "plan", "record_id": plans.c.id}
    entry = json_elements(actions.c.status_history).table_valued("value").alias("action_history_entry")
    status = json_text(entry.c.value, "status")
    with_actions = plans.join(actions, actions.c.plan_id == plans.c.id)
    return [
        select(
            *item(
                at=plans.c.created_at,
                kind=EventType.plan_created,
                agency_id=plans.c.agency_id,
                code=plans.c.kind,
                **common,
            )
        ),
        select(
            *item(
                at=goals.c.created_at,
                kind=EventType.plan_goal_added,
                agency_id=goals.c.agency_id,
                part=cast(goals.c.id, String()),
                code=goals.c.area,
                code2=goals.c.expressed_by,
                **common,
            )
        ).select_from(plans.join(goals, goals.c.plan_id == plans.c.id)),
        select(
            *item(
                at=actions.c.created_at,
                kind=EventType.plan_action_added,
                agency_id=actions.c.agency_id,
                part=cast(actions.c.id, String()),
                code=actions.c.responsible_agency_id,
                **common,
            )
        ).select_from(with_actions),
        # The first entry is the action's adding, above. An action's statuses have no cycles, so
        # the action and its status tell its changes apart.
        select(
            *item(
                at=json_time(entry.c.value, "changed_at"),
                kind=EventType.plan_action_status_changed,
                agency_id=json_text(entry.c.value, "agency_id"),
                part=cast(actions.c.id, String()).concat(" ").concat(status),
                code=status,
                code2=json_text(entry.c.value, "from_status"),
                **common,
            )
        )
        .select_from(with_actions.join(entry, true()))
        .where(status != "planned"),
        select(
            *item(
                at=reviews.c.held_at,
                kind=EventType.plan_reviewed,
                agency_id=reviews.c.agency_id,
                part=cast(reviews.c.id, String()),
                code=case((reviews.c.held_at <= reviews.c.was_due_at, "on_time"), else_="late"),
                **common,
            )
        ).select_from(plans.join(reviews, reviews.c.plan_id == plans.c.id)),
        select(
            *item(at=plans.c.closed_at, kind=EventType.plan_closed, agency_id=plans.c.closed_by_agency_id, **common)
        ).where(plans.c.closed_at.is_not(None)),
    ]


# -- summaries, from codes only ----------------------------------------------------------------
def _areas(detail: Any) -> str:
    codes = {str(code) for code in detail} if isinstance(detail, list) else set()
    return ", ".join(area.value for area in Area if area.value in codes)


def _ratings(detail: Any) -> str:
    """Area codes and their ratings only; strengths and needs are free text and stay out."""
    areas = detail if isinstance(detail, dict) else {}
    rated = []
    for area in Area:
        value = areas.get(area.value)
        if isinstance(value, dict):
            rating = value.get("rating")
            rated.append(f"{area.value} {rating if isinstance(rating, int) else '–'}")
    return ", ".join(rated)


def _received(row: Row[Any]) -> str:
    text = f"Concern raised ({row.code}): {_areas(row.detail)}"
    return text + ("; mandatory report to social services" if row.code2 else "")


_CONCERN_SUMMARIES = {
    EventType.concern_received: _received,
    EventType.concern_status_changed: lambda row: f"Status {row.code2} → {row.code}",
    EventType.concern_decision_recorded: lambda row: f"Decision: {row.code}",
}
_ASSESSMENT_SUMMARIES = {
    EventType.assessment_recorded: lambda row: f"Assessment ({row.code}): {_ratings(row.detail)}",
}
_CONSENT_SUMMARIES = {
    EventType.consent_recorded: lambda row: "Consent recorded for " + ", ".join((row.code or "").split()),
    EventType.consent_confirmed: lambda row: "Consent confirmed",
    EventType.consent_withdrawn: lambda row: f"Consent withdrawn by {row.code or 'a grantor'}",
    EventType.consent_expired: lambda row: "Consent expired",
}
_TEAM_SUMMARIES = {
    EventType.team_created: lambda row: "Team formed",
    EventType.team_member_added: lambda row: f"Team member added: {row.code} ({row.code2})",
    EventType.team_member_ended: lambda row: f"Team membership ended: {row.code} ({row.code2})",
    EventType.team_closed: lambda row: "Team closed",
}
_PLAN_SUMMARIES = {
    EventType.plan_created: lambda row: "Plan created (SIP)" if row.code == "sip" else "Plan created",
    EventType.plan_goal_added: lambda row: f"Goal added: {row.code} (expressed by {row.code2})",
    EventType.plan_action_added: lambda row: f"Action added, responsible: {row.code}",
    EventType.plan_action_status_changed: lambda row: f"Action status {row.code2} → {row.code}",
    EventType.plan_reviewed: lambda row: "Plan reviewed" + (" (late)" if row.code == "late" else " (on time)"),
    EventType.plan_closed: lambda row: "Plan closed",
}

SOURCES: tuple[ChronologySource, ...] = (
    ChronologySource("concern", "concerns:read", table_of(Concern), _concern_branches, _CONCERN_SUMMARIES),
    ChronologySource(
        "assessment", "assessments:read", table_of(Assessment), _assessment_branches, _ASSESSMENT_SUMMARIES
    ),
    ChronologySource("consent", "consents:read", table_of(Consent), _consent_branches, _CONSENT_SUMMARIES),
    ChronologySource("team", "teams:read", table_of(Team), _team_branches, _TEAM_SUMMARIES),
    ChronologySource("plan", "plans:read", table_of(Plan), _plan_branches, _PLAN_SUMMARIES),
)
