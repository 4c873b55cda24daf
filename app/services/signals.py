"""Early-warning signals: worked out for one agency at a time, from what that agency may see.

What a signal is made of is selected here, in SQL, by the one access rule
(app/security/access.py): the receiver's visible concerns and assessments, plus the concerns of
agencies that have confirmed an active consent for the child covering `signals` and naming the
receiver — and of those only the time, the areas and (for `agency_count`) the agency, never the
id. The rules themselves are pure functions over those facts (app/services/signal_rules.py).

On a write (a concern raised, an assessment recorded) the rules are worked out, in the write's
own transaction, for each agency the new record reaches — and only for those: an agency the
record does not reach learns nothing, not even that something was written. Those agencies are
the record's own, the one a concern is reported to, and the parties of the child's consents,
all found through rows indexed by the child, so a write costs the same in a county of ten
agencies as in one of ten thousand. For each rule that holds and has not been raised to that
agency for the child within the window, `signal.raised` goes to that agency alone.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Row, String, Uuid, bindparam, or_, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.enums import EventType, RecordType, Role
from app.events.outbox import publish_to
from app.models.agency import Agency
from app.models.assessment import Assessment
from app.models.base import UTCDateTime, table_of, utcnow
from app.models.child import Child
from app.models.concern import Concern
from app.models.consent import ConsentParty
from app.models.signal import SignalRaise
from app.security.access import (
    CALLER_AGENCY,
    NOW,
    AgencyRef,
    Moment,
    StatementTime,
    caller_rule,
    consent_links,
    visible_to,
)
from app.security.caller import Caller
from app.security.scopes import scopes_for
from app.services.signal_rules import (
    ConcernFact,
    RatingFact,
    Signal,
    SignalRules,
    compass_signal,
    concern_signals,
)

_concerns = table_of(Concern)
_assessments = table_of(Assessment)
_parties = table_of(ConsentParty)
_agencies = table_of(Agency)
_children = table_of(Child)
_raises = table_of(SignalRaise)

CHILD = bindparam("child_id", type_=Uuid())
SINCE = bindparam("since", type_=UTCDateTime())
RECORD_AGENCY = bindparam("record_agency", type_=String())
REPORTED_TO = bindparam("reported_to", type_=String())
RAISED_AT = bindparam("raised_at", type_=UTCDateTime())
STALE_BEFORE = bindparam("stale_before", type_=UTCDateTime())  # a raise older than this may go again
_CHILD_SERIALISED = select(_children.c.id).where(_children.c.id == CHILD).with_for_update(key_share=True)


def _usable_concerns(receiver: AgencyRef, now: Moment) -> tuple[list[Any], list[ColumnElement[bool]]]:
    """The columns and conditions of the child's concerns in the window that the receiver may
    use: those it may see (`visible`), and those it may only count — the concern's agency has
    confirmed an active `signals` consent for the child naming the receiver."""
    # Bound to the child (CHILD), not to the row's column: see visible_to.
    visible = visible_to(receiver, RecordType.concerns, _concerns, now, child_id=CHILD)
    counted = consent_links(CHILD, receiver, _concerns.c.agency_id, RecordType.signals, now)
    columns = [
        _concerns.c.id,
        _concerns.c.agency_id,
        _concerns.c.areas,
        _concerns.c.created_at,
        visible.label("visible"),
    ]
    return columns, [_concerns.c.child_id == CHILD, _concerns.c.created_at > SINCE, or_(visible, counted)]


_ASSESSMENT_COLUMNS = [
    _assessments.c.id,
    _assessments.c.perspective,
    _assessments.c.assessed_at,
    _assessments.c.created_at,
    _assessments.c.areas,
]

# -- the caller's own signals (GET): prebuilt with bound parameters, as the access rule is ----------
_caller_columns, _caller_conditions = _usable_concerns(CALLER_AGENCY, StatementTime())
_CALLER_CONCERNS = select(*_caller_columns).where(*_caller_conditions)
_CALLER_ASSESSMENTS = select(*_ASSESSMENT_COLUMNS).where(_assessments.c.child_id == CHILD, caller_rule("assessment"))

# -- the agencies a new record reaches, and what each of them may use ---------------------------------
# Only agencies that could possibly see or count the new record: its own agency, the agency a
# concern is reported to, and the parties of the child's consents (the access rule opens nothing
# to anyone else). Each is found by the child's id (an index), never by scanning the agencies.
_RECEIVERS = union(
    select(RECORD_AGENCY.label("agency_id")),
    select(REPORTED_TO).where(REPORTED_TO.is_not(None)),
    select(_parties.c.agency_id).where(_parties.c.child_id == CHILD),
).subquery("receivers")
_receiver = _RECEIVERS.c.agency_id
_receiver_columns, _receiver_conditions = _usable_concerns(_receiver, NOW)
_RECEIVER_CONCERNS = (
    select(_receiver.label("receiver"), *_receiver_columns)
    .select_from(_RECEIVERS.join(_concerns, _concerns.c.child_id == CHILD))
    .where(*_receiver_conditions)
)
_RECEIVER_ASSESSMENTS = (
    select(_receiver.label("receiver"), _agencies.c.kind, *_ASSESSMENT_COLUMNS)
    .select_from(
        _RECEIVERS.join(_agencies, _agencies.c.id == _receiver).join(_assessments, _assessments.c.child_id == CHILD)
    )
    .where(visible_to(_receiver, RecordType.assessments, _assessments, NOW, child_id=CHILD))
)


def _concern_fact(row: Row[Any]) -> ConcernFact:
    # A concern the receiver may only count keeps no id: it cannot reach the answer.
    return ConcernFact(row.created_at, row.agency_id, tuple(row.areas), row.id if row.visible else None)


def _rating_fact(row: Row[Any]) -> RatingFact:
    ratings = {area: int(value["rating"]) for area, value in row.areas.items() if value.get("rating") is not None}
    return RatingFact(row.id, row.perspective, row.assessed_at, row.created_at, ratings)


def reads_assessments(kind: str) -> bool:
    """A `compass_drop` is made of assessments: only for agencies whose systems may read them
    (not the police: minimum necessary, as for the compass itself)."""
    return "assessments:read" in scopes_for(kind, Role.practitioner)


async def signals_for(session: AsyncSession, caller: Caller, child_id: uuid.UUID, rules: SignalRules) -> list[Signal]:
    """The rules that hold now for the caller's agency, from what it may use now."""
    if not rules.enabled:
        return []
    now = utcnow()
    parameters = {"caller_agency": caller.agency_id, "now": now, "child_id": child_id, "since": now - rules.window}
    concerns = [_concern_fact(row) for row in (await session.execute(_CALLER_CONCERNS, parameters)).all()]
    signals = concern_signals(rules, concerns, now)
    if "assessments:read" in caller.scopes:
        rows = (await session.execute(_CALLER_ASSESSMENTS, parameters)).all()
        compass = compass_signal(rules, [_rating_fact(row) for row in rows], concerns, now)
        if compass is not None:
            signals.append(compass)
    return signals


async def after_concern(session: AsyncSession, concern: Concern, rules: SignalRules) -> None:
    """In the concern's transaction: raise the concern rules it tipped, to the agencies it reaches."""
    if not rules.enabled:
        return
    now = utcnow()
    connection = await _serialise_child(session, concern.child_id)
    parameters = _receiver_parameters(concern.child_id, concern.agency_id, concern.report_to_agency_id, now, rules)
    rows = (await connection.execute(_RECEIVER_CONCERNS, parameters)).all()
    reached = sorted({row.receiver for row in rows if row.id == concern.id})
    usable = _by_receiver(rows, _concern_fact)
    holding = [(receiver, signal) for receiver in reached for signal in concern_signals(rules, usable[receiver], now)]
    await _raise(session, concern.child_id, holding, rules, now)


async def after_assessment(session: AsyncSession, assessment: Assessment, rules: SignalRules) -> None:
    """In the assessment's transaction: raise `compass_drop` to the agencies that see it."""
    if not rules.enabled:
        return
    now = utcnow()
    connection = await _serialise_child(session, assessment.child_id)
    parameters = _receiver_parameters(assessment.child_id, assessment.agency_id, None, now, rules)
    rows = (await connection.execute(_RECEIVER_ASSESSMENTS, parameters)).all()
    reached = sorted({row.receiver for row in rows if row.id == assessment.id and reads_assessments(row.kind)})
    if not reached:
        return
    ratings = _by_receiver(rows, _rating_fact)
    usable = _by_receiver((await connection.execute(_RECEIVER_CONCERNS, parameters)).all(), _concern_fact)
    signals = {receiver: compass_signal(rules, ratings[receiver], usable[receiver], now) for receiver in reached}
    holding = [(receiver, signal) for receiver, signal in signals.items() if signal is not None]
    await _raise(session, assessment.child_id, holding, rules, now)


def _receiver_parameters(
    child_id: uuid.UUID, record_agency: str, reported_to: str | None, now: datetime, rules: SignalRules
) -> dict[str, object]:
    return {
        "child_id": child_id,
        "record_agency": record_agency,
        "reported_to": reported_to,
        "now": now,
        "since": now - rules.window,
    }


def _by_receiver(rows: Sequence[Row[Any]], fact: Any) -> defaultdict[str, list[Any]]:
    grouped: defaultdict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.receiver].append(fact(row))
    return grouped


async def _serialise_child(session: AsyncSession, child_id: uuid.UUID) -> AsyncConnection:
    """Writes about one child work out its signals one at a time (PostgreSQL; SQLite has one
    writer): otherwise two concurrent concerns would each see one fewer than there are, and the
    third concern of the child could raise nothing. FOR NO KEY UPDATE, because the new record's
    foreign key already holds the child's row FOR KEY SHARE, which this does not conflict with
    (a plain FOR UPDATE would deadlock two such writers)."""
    connection = await session.connection()
    await connection.execute(_CHILD_SERIALISED, {"child_id": child_id})
    return connection


@lru_cache(maxsize=64)
def _raise_upsert(dialect: str, rows: int) -> Any:
    """The upsert of `rows` (receiver, rule) pairs of one child, built once per dialect and count:
    building it costs more than running it (issue 23's profile: its `excluded` alias copies the
    table's columns each time, 18 % of a worker's time on concern writes)."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    column = _raises.c
    statement = module.insert(_raises).values(
        [
            {
                "child_id": CHILD,
                "agency_id": bindparam(f"agency_{row}", type_=column.agency_id.type),
                "rule": bindparam(f"rule_{row}", type_=column.rule.type),
                "raised_at": RAISED_AT,
            }
            for row in range(rows)
        ]
    )
    return statement.on_conflict_do_update(
        index_elements=["child_id", "agency_id", "rule"],
        set_={"raised_at": statement.excluded.raised_at},
        where=column.raised_at <= STALE_BEFORE,
    ).returning(column.agency_id, column.rule)


async def _raise(
    session: AsyncSession,
    child_id: uuid.UUID,
    holding: Sequence[tuple[str, Signal]],
    rules: SignalRules,
    now: datetime,
) -> None:
    """`signal.raised` to each receiver alone, for each rule that holds for it, unless it went out
    for that rule and child within the window. One upsert decides that for all of them: a
    concurrent writer's row (the primary key) makes this one's update conditional on the window,
    so two writers never both publish; and one statement, not one per receiver and rule (2–6 on a
    busy child), because each statement costs more than the rules do.
    The event names the rule (`record_id`), not the record that tipped it nor its agency."""
    if not holding:
        return
    connection = await session.connection()
    parameters: dict[str, object] = {"child_id": child_id, "raised_at": now, "stale_before": now - rules.window}
    for row, (receiver, signal) in enumerate(holding):
        parameters[f"agency_{row}"], parameters[f"rule_{row}"] = receiver, signal.rule.value
    statement = _raise_upsert(connection.dialect.name, len(holding))
    raised = {(row.agency_id, row.rule) for row in (await connection.execute(statement, parameters)).all()}
    for receiver, signal in holding:  # in the rules' order: RETURNING keeps none
        if (receiver, signal.rule.value) in raised:
            await publish_to(
                session,
                EventType.signal_raised,
                resource_type="signal",
                record_id=signal.rule.value,
                agency_ids=[receiver],
                actor_agency_id=None,
                child_id=child_id,
            )
