"""Consent records: recording, reading (with their parties and withdrawal), withdrawing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.enums import ConsentStatus, EventType, RecordType
from app.errors import ConsentAlreadyConfirmed, ConsentAlreadyWithdrawn, ConsentExpired, unprocessable
from app.events.outbox import publish
from app.models.agency import Agency
from app.models.base import table_of, utcnow
from app.models.consent import Consent, ConsentConfirmation, ConsentParty, ConsentWithdrawal
from app.schemas.consent import ConsentCreate, ConsentWithdraw
from app.security.caller import Caller
from app.security.records import visible_page
from app.services.children import require_child

_consents = table_of(Consent)
_parties = table_of(ConsentParty)
_withdrawals = table_of(ConsentWithdrawal)
_confirmations = table_of(ConsentConfirmation)


@dataclass(frozen=True)
class Party:
    agency_id: str
    confirmed_at: datetime | None


@dataclass(frozen=True)
class ConsentView:
    """A consent with what its representation needs besides its own row."""

    consent: Consent | Row[Any]
    parties: list[Party]
    withdrawal: ConsentWithdrawal | None

    @property
    def agency_ids(self) -> list[str]:
        return [party.agency_id for party in self.parties]

    @property
    def record_types(self) -> list[RecordType]:
        covered = (
            (RecordType.concerns, self.consent.covers_concerns),
            (RecordType.assessments, self.consent.covers_assessments),
            (RecordType.teams, self.consent.covers_teams),
            (RecordType.plans, self.consent.covers_plans),
            (RecordType.signals, self.consent.covers_signals),
        )
        return [record_type for record_type, covers in covered if covers]

    def status(self, now: datetime) -> ConsentStatus:
        """Derived, never stored: withdrawal first, then the validity window."""
        if self.withdrawal is not None:
            return ConsentStatus.withdrawn
        if now < self.consent.valid_from:
            return ConsentStatus.pending
        if now >= self.consent.valid_until:
            return ConsentStatus.expired
        return ConsentStatus.active


async def record_consent(session: AsyncSession, caller: Caller, data: ConsentCreate) -> ConsentView:
    now = utcnow()
    await require_child(session, data.child_id)
    if caller.agency_id not in data.agency_ids:
        raise unprocessable(["body", "agency_ids"], "must include the recording agency")
    agencies = table_of(Agency)
    known = set((await session.execute(select(agencies.c.id).where(agencies.c.id.in_(data.agency_ids)))).scalars())
    unknown = [agency for agency in data.agency_ids if agency not in known]
    if unknown:
        raise unprocessable(["body", "agency_ids"], f"unknown agencies: {', '.join(unknown)}")
    valid_from = data.valid_from or now
    if data.valid_until <= valid_from:
        raise unprocessable(["body", "valid_until"], "must be after valid_from")
    if data.valid_until <= now:
        raise unprocessable(["body", "valid_until"], "lies in the past")
    covered = set(data.record_types)
    consent = Consent(
        child_id=data.child_id,
        agency_id=caller.agency_id,
        granted_by=[grantor.model_dump(mode="json") for grantor in data.granted_by],
        covers_concerns=RecordType.concerns in covered,
        covers_assessments=RecordType.assessments in covered,
        covers_teams=RecordType.teams in covered,
        covers_plans=RecordType.plans in covered,
        covers_signals=RecordType.signals in covered,
        purpose=data.purpose,
        valid_from=valid_from,
        valid_until=data.valid_until,
        created_at=now,
    )
    session.add(consent)
    await session.flush()
    session.add_all(
        ConsentParty(consent_id=consent.id, agency_id=agency, child_id=data.child_id) for agency in data.agency_ids
    )
    await session.flush()
    # The recording agency confirms by recording; every other party decides for its own records.
    session.add(ConsentConfirmation(consent_id=consent.id, agency_id=caller.agency_id, confirmed_at=now))
    await session.flush()
    await publish_consent_event(session, EventType.consent_recorded, consent, caller.agency_id)
    (view,) = await views_of(session, [consent])
    return view


async def publish_consent_event(
    session: AsyncSession, event_type: EventType, consent: Consent | Row[Any], actor_agency_id: str | None
) -> None:
    """To every agency the consent names — on withdrawal and expiry, the ones losing access."""
    await publish(
        session,
        event_type,
        resource_type="consent",
        record_id=consent.id,
        child_id=consent.child_id,
        actor_agency_id=actor_agency_id,
    )


async def views_of(session: AsyncSession, consents: Sequence[Consent | Row[Any]]) -> list[ConsentView]:
    """Parties (with their confirmations) and withdrawals for a page of consents, in two
    queries whatever its size."""
    ids = [consent.id for consent in consents]
    if not ids:
        return []
    parties: dict[uuid.UUID, list[Party]] = {consent_id: [] for consent_id in ids}
    rows = await session.execute(
        select(_parties.c.consent_id, _parties.c.agency_id, _confirmations.c.confirmed_at)
        .outerjoin(
            _confirmations,
            and_(
                _confirmations.c.consent_id == _parties.c.consent_id,
                _confirmations.c.agency_id == _parties.c.agency_id,
            ),
        )
        .where(_parties.c.consent_id.in_(ids))
        .order_by(_parties.c.agency_id)
    )
    for consent_id, agency_id, confirmed_at in rows:
        parties[consent_id].append(Party(agency_id, confirmed_at))
    withdrawals = {
        withdrawal.consent_id: withdrawal
        for withdrawal in (
            await session.execute(select(ConsentWithdrawal).where(_withdrawals.c.consent_id.in_(ids)))
        ).scalars()
    }
    return [ConsentView(consent, parties[consent.id], withdrawals.get(consent.id)) for consent in consents]


async def list_consents(
    session: AsyncSession,
    caller: Caller,
    child_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Row[Any]]:
    conditions = [] if child_id is None else [_consents.c.child_id == child_id]
    return await visible_page(session, caller, "consent", after, limit, *conditions)


async def withdraw(session: AsyncSession, caller: Caller, consent: Consent, data: ConsentWithdraw) -> ConsentView:
    """Withdrawal takes effect at once: the commit that records it ends the access it gave."""
    existing = await session.get(ConsentWithdrawal, consent.id)
    if existing is not None:
        raise ConsentAlreadyWithdrawn("The consent is already withdrawn.")
    withdrawal = ConsentWithdrawal(
        consent_id=consent.id,
        withdrawn_at=utcnow(),
        withdrawn_by=data.withdrawn_by.model_dump(mode="json"),
        reason=data.reason,
        agency_id=caller.agency_id,
    )
    session.add(withdrawal)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent withdrawal committed first
        raise ConsentAlreadyWithdrawn("The consent is already withdrawn.") from None
    await publish_consent_event(session, EventType.consent_withdrawn, consent, caller.agency_id)
    (view,) = await views_of(session, [consent])
    return view


async def confirm(session: AsyncSession, caller: Caller, consent: Consent | Row[Any]) -> ConsentView:
    """The caller's agency confirms that the family's consent lets it disclose its records.

    From the commit on, the consent opens the caller's records to the other named agencies
    (while it is active and covers them). Only a named agency gets here (the consent is
    invisible to others: 404); a second confirmation, or one of a withdrawn or expired consent,
    is a conflict.
    """
    now = utcnow()
    if await session.get(ConsentWithdrawal, consent.id) is not None:
        raise ConsentAlreadyWithdrawn("A withdrawn consent cannot be confirmed.")
    if now >= consent.valid_until:
        raise ConsentExpired("An expired consent cannot be confirmed.")
    if await session.get(ConsentConfirmation, (consent.id, caller.agency_id)) is not None:
        raise ConsentAlreadyConfirmed("Your agency has already confirmed this consent.")
    session.add(ConsentConfirmation(consent_id=consent.id, agency_id=caller.agency_id, confirmed_at=now))
    try:
        await session.flush()
    except IntegrityError:  # a concurrent confirmation by the same agency committed first
        raise ConsentAlreadyConfirmed("Your agency has already confirmed this consent.") from None
    await publish_consent_event(session, EventType.consent_confirmed, consent, caller.agency_id)
    (view,) = await views_of(session, [consent])
    return view


def ensure_stated_period(data: ConsentCreate, max_years: int) -> None:
    """A consent lifts secrecy for a stated time: `valid_until` decades ahead is none (422).

    `max_years` is SAMHANDLING_CONSENT_MAX_YEARS, counted as 365.25 days a year from now.
    """
    if data.valid_until > utcnow() + timedelta(days=365.25 * max_years):
        raise unprocessable(["body", "valid_until"], f"lies more than {max_years} years ahead")
