"""The access rule — the one place that decides which child records an agency may see.

An agency sees a concern, assessment, consent, team or plan about a child when

* it created it;
* it is a named party (a consent);
* it is the social-services agency a concern is reported to (a mandatory report, which needs
  no consent);
* an *active* consent for that child names both its agency and the record's agency, covers
  that kind of record, **and has been confirmed by the record's agency**. Active: recorded,
  `valid_from <= now < valid_until`, not withdrawn. Confirmed: under OSL the agency that holds
  a record decides whether the family's consent lets it disclose it, so a consent that only the
  reader's side recorded opens nothing of another agency's (the recorder confirms by recording).

Everything else is invisible: answered 404, exactly as if it did not exist, and logged as a
denial. The rule is a SQL expression, so a single read folds it into the record's own query
and every list filters by it in the database, never after loading. `basis_for` names which of
its clauses held (the log's `access_basis` and `consent_id`), in that same query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, Table, and_, bindparam, case, exists, false, null, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.enums import AccessBasis, RecordType
from app.models.assessment import Assessment
from app.models.base import UTCDateTime, table_of, utcnow
from app.models.concern import Concern
from app.models.consent import Consent, ConsentConfirmation, ConsentParty, ConsentWithdrawal
from app.models.plan import Plan
from app.models.team import Team, TeamMember

_consents = table_of(Consent)
_parties = table_of(ConsentParty)
_withdrawals = table_of(ConsentWithdrawal)
_confirmations = table_of(ConsentConfirmation)
_COVERS = {
    RecordType.concerns: _consents.c.covers_concerns,
    RecordType.assessments: _consents.c.covers_assessments,
    RecordType.teams: _consents.c.covers_teams,
    RecordType.plans: _consents.c.covers_plans,
    RecordType.signals: _consents.c.covers_signals,
}


Moment = datetime | ColumnElement[datetime]


def consent_is_active(now: Moment) -> ColumnElement[bool]:
    return and_(
        _consents.c.valid_from <= now,
        _consents.c.valid_until > now,
        ~exists().where(_withdrawals.c.consent_id == _consents.c.id),
    )


AgencyRef = str | ColumnElement[str]


def _opening_consents(
    child_id: ColumnElement[object] | object,
    agency_id: AgencyRef,
    other_agency_id: ColumnElement[object] | object,
    record_type: RecordType,
    now: Moment,
) -> Select[Any]:
    caller_party = _parties.alias("caller_party")
    owner_confirmation = _confirmations.alias("owner_confirmation")
    return (
        select(_consents.c.id)
        .select_from(
            caller_party.join(owner_confirmation, owner_confirmation.c.consent_id == caller_party.c.consent_id).join(
                _consents, _consents.c.id == caller_party.c.consent_id
            )
        )
        .where(
            caller_party.c.child_id == child_id,
            caller_party.c.agency_id == agency_id,
            owner_confirmation.c.agency_id == other_agency_id,
            _COVERS[record_type].is_(True),
            consent_is_active(now),
        )
    )


def consent_links(
    child_id: ColumnElement[object] | object,
    agency_id: AgencyRef,
    other_agency_id: ColumnElement[object] | object,
    record_type: RecordType,
    now: Moment,
) -> ColumnElement[bool]:
    """An active consent for the child names both agencies, covers this kind of record, and the
    other agency — the one whose records it would open — has confirmed it.

    A confirmation exists only for a named party (its foreign key), so it stands for the other
    agency's party too.
    """
    return exists(_opening_consents(child_id, agency_id, other_agency_id, record_type, now))


def visible_to(
    agency_id: AgencyRef,
    record_type: RecordType,
    records: Table,
    now: Moment,
    child_id: ColumnElement[Any] | None = None,
) -> ColumnElement[bool]:
    """The rule for a table of child records with `agency_id` and `child_id` columns.

    `child_id`: where the query is about one child already bound as a parameter, the consent
    test names that parameter instead of the record's column (the same value). Under the rule's
    OR, PostgreSQL may run the consent test once as a hashed subplan rather than per row; bound
    to the child, that subplan reads the child's consents by index, not every active consent of
    every child (a signals query did, 65–175 ms at 22 000 consents)."""
    reported_to = records.c.report_to_agency_id == agency_id if "report_to_agency_id" in records.c else false()
    return or_(
        records.c.agency_id == agency_id,
        reported_to,
        consent_links(
            records.c.child_id if child_id is None else child_id, agency_id, records.c.agency_id, record_type, now
        ),
    )


def consent_visible_to(agency_id: AgencyRef, consents: Table) -> ColumnElement[bool]:
    """A consent record is visible to the agencies it names (its recorder is always one)."""
    return exists().where(_parties.c.consent_id == consents.c.id, _parties.c.agency_id == agency_id)


# The child-record tables the general rule applies to, by the resource type the log records.
_RECORD_TABLES: dict[str, tuple[Table, RecordType]] = {
    "concern": (table_of(Concern), RecordType.concerns),
    "assessment": (table_of(Assessment), RecordType.assessments),
    "team": (table_of(Team), RecordType.teams),
    # The child's plan; its goals, actions and reviews are read through it (issue 20).
    "plan": (table_of(Plan), RecordType.plans),
}


def rule_for(resource_type: str, agency_id: AgencyRef, now: Moment) -> ColumnElement[bool]:
    """The access rule for one kind of child record, as a condition on its table.

    `agency_id` is the caller's agency, or a column of agencies (who may see it: event recipients).
    """
    if resource_type == "consent":
        return consent_visible_to(agency_id, _consents)
    table, record_type = _RECORD_TABLES[resource_type]
    return visible_to(agency_id, record_type, table, now)


# The rule for "the caller", built once per record type with bound parameters: composing these
# SQL expressions (aliases, subqueries) costs more than running them, so requests reuse them and
# pass only the values (see caller_parameters).
CALLER_AGENCY = bindparam("caller_agency", type_=String())
NOW = bindparam("now", type_=UTCDateTime())


class StatementTime(FunctionElement[datetime]):
    """The moment the caller's rule is decided at: PostgreSQL's `statement_timestamp()`, else `now`.

    Why not the bound `now` everywhere? PostgreSQL plans a prepared statement once and reuses
    the plan only when that plan looks as cheap as one made for the values at hand. With `now`
    bound, the planner must guess how many consents a time window admits, so a generic plan of
    the rule looks costlier than it is, and every execution is planned anew: about 1 ms of
    planning for 0.05 ms of work (measured: a GET took twice as long at 1 M log entries once the
    tables had statistics). The planner can estimate with `statement_timestamp()`, so the plan
    is made once per connection. It reads the database's clock rather than the API process's;
    with synchronised clocks (NTP) the two agree to milliseconds, and every API worker then
    decides by one clock.
    """

    type = UTCDateTime()
    inherit_cache = True

    def __init__(self) -> None:
        super().__init__(NOW)  # the bound `now`, for the dialects that use it


@compiles(StatementTime)
def _statement_time_bound(element: StatementTime, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(StatementTime, "postgresql")
def _statement_time_postgresql(element: StatementTime, compiler: SQLCompiler, **kw: Any) -> str:
    return "statement_timestamp()"


_CALLER_RULES = {
    resource_type: rule_for(resource_type, CALLER_AGENCY, StatementTime())
    for resource_type in ("consent", *_RECORD_TABLES)
}


def caller_rule(resource_type: str) -> ColumnElement[bool]:
    """The rule for the caller (bound parameters `caller_agency` and `now`), prebuilt."""
    return _CALLER_RULES[resource_type]


_members = table_of(TeamMember)


BasisColumns = tuple[ColumnElement[Any], ColumnElement[Any]]


def basis_for(resource_type: str, agency_id: AgencyRef, now: Moment) -> BasisColumns:
    """(access_basis, consent_id) for the rule's clause that holds, as columns beside the record.

    The same clauses as `rule_for`, in the same order, so the basis is decided where the rule is
    and comes back with the row; NULL when none holds (the record is not disclosed). The consent
    named is the earliest-created of those that open the record (any one justifies the read).
    """
    if resource_type == "consent":
        own = _consents.c.agency_id == agency_id
        return case((own, AccessBasis.own.value), else_=AccessBasis.named.value), null()
    table, record_type = _RECORD_TABLES[resource_type]
    opening = (
        _opening_consents(table.c.child_id, agency_id, table.c.agency_id, record_type, now)
        .order_by(_consents.c.created_at, _consents.c.id)
        .limit(1)
        .scalar_subquery()
    )
    own = table.c.agency_id == agency_id
    reported_to = table.c.report_to_agency_id == agency_id if "report_to_agency_id" in table.c else false()
    disclosed_by_consent: ColumnElement[Any] | str = AccessBasis.consent.value
    if resource_type == "team":
        member = exists().where(
            _members.c.team_id == table.c.id, _members.c.agency_id == agency_id, _members.c.ended_at.is_(None)
        )
        disclosed_by_consent = case((member, AccessBasis.team.value), else_=AccessBasis.consent.value)
    basis = case(
        (own, AccessBasis.own.value),
        (reported_to, AccessBasis.reported_to.value),
        (opening.is_not(None), disclosed_by_consent),
        else_=null(),
    )
    consent_id = case((or_(own, reported_to), null()), else_=opening)
    return basis, consent_id


_CALLER_BASES = {
    resource_type: basis_for(resource_type, CALLER_AGENCY, StatementTime()) for resource_type in _CALLER_RULES
}


def caller_basis(resource_type: str) -> BasisColumns:
    """`basis_for` the caller (the same bound parameters as `caller_rule`), prebuilt."""
    return _CALLER_BASES[resource_type]


def caller_parameters(agency_id: str) -> dict[str, object]:
    return {"caller_agency": agency_id, "now": utcnow()}


def table_for(resource_type: str) -> Table:
    return _consents if resource_type == "consent" else _RECORD_TABLES[resource_type][0]
