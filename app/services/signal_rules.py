"""The three early-warning rules, as pure functions over what one agency may use.

The facts handed in are already only what the receiving agency may use (app/services/signals.py
selects them with the access rule in SQL): its visible concerns and assessments, and — as count
and areas only, with no id — the concerns of agencies that confirmed a `signals` consent naming
it. Nothing here can widen that: a signal is made of these facts and nothing else.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.enums import Area
from app.schemas.signal import SignalRule
from app.settings import Settings

_AREA_ORDER = {area.value: index for index, area in enumerate(Area)}


@dataclass(frozen=True, slots=True)
class SignalRules:
    """The rules' thresholds (settings `SAMHANDLING_SIGNALS_*`; the contract's defaults)."""

    enabled: bool = True
    window: timedelta = timedelta(days=180)
    concern_count: int = 3
    agency_count: int = 2
    compass_drop: int = 2
    compass_low_rating: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> SignalRules:
        return cls(
            enabled=settings.signals_enabled,
            window=timedelta(days=settings.signals_window_days),
            concern_count=settings.signals_concern_count,
            agency_count=settings.signals_agency_count,
            compass_drop=settings.signals_compass_drop,
            compass_low_rating=settings.signals_compass_low_rating,
        )


@dataclass(frozen=True, slots=True)
class ConcernFact:
    """A concern the receiver may use. `record_id` is None when it may only count it (a
    `signals` consent): then its agency is used for `agency_count` and never shown."""

    created_at: datetime
    agency_id: str
    areas: tuple[str, ...]
    record_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class RatingFact:
    """An assessment the receiver may see: its rated areas only."""

    record_id: uuid.UUID
    perspective: str
    assessed_at: datetime
    created_at: datetime
    ratings: dict[str, int]


@dataclass(frozen=True, slots=True)
class Signal:
    rule: SignalRule
    raised_at: datetime
    concern_count: int
    agency_count: int
    areas: tuple[str, ...]
    record_ids: tuple[uuid.UUID, ...]


def ordered_areas(values: Iterable[str]) -> tuple[str, ...]:
    """Distinct area codes in the compass's order (safe, healthy, achieving, …)."""
    return tuple(sorted(set(values), key=_AREA_ORDER.__getitem__))


def in_window(rules: SignalRules, concerns: Iterable[ConcernFact], now: datetime) -> list[ConcernFact]:
    """The concerns raised within the window, oldest first."""
    since = now - rules.window
    return sorted((concern for concern in concerns if concern.created_at > since), key=lambda c: c.created_at)


def concern_signals(rules: SignalRules, concerns: Sequence[ConcernFact], now: datetime) -> list[Signal]:
    """`concerns_accumulating` and `several_agencies`, when they hold."""
    recent = in_window(rules, concerns, now)
    if not recent:
        return []

    def signal(rule: SignalRule, raised_at: datetime) -> Signal:
        return Signal(
            rule=rule,
            raised_at=raised_at,
            concern_count=len(recent),
            agency_count=len({concern.agency_id for concern in recent}),
            areas=ordered_areas(area for concern in recent for area in concern.areas),
            record_ids=tuple(concern.record_id for concern in recent if concern.record_id is not None),
        )

    signals = []
    if len(recent) >= rules.concern_count:
        signals.append(signal(SignalRule.concerns_accumulating, recent[rules.concern_count - 1].created_at))
    agencies: set[str] = set()
    for concern in recent:  # the concern that brought the agencies up to the threshold
        agencies.add(concern.agency_id)
        if len(agencies) >= rules.agency_count:
            signals.append(signal(SignalRule.several_agencies, concern.created_at))
            break
    return signals


def compass_signal(
    rules: SignalRules, assessments: Sequence[RatingFact], concerns: Sequence[ConcernFact], now: datetime
) -> Signal | None:
    """`compass_drop`: in some perspective and area, the latest visible rating (assessed within
    the window) fell by at least `compass_drop` from the one before it, or is at most
    `compass_low_rating`. Consecutive means consecutive in the receiver's own view, as its
    compass shows it (`GET /children/{id}/compass`)."""
    history: defaultdict[tuple[str, str], list[tuple[int, RatingFact]]] = defaultdict(list)
    for assessment in sorted(assessments, key=lambda a: (a.assessed_at, a.created_at, a.record_id)):
        for area, rating in assessment.ratings.items():
            history[(assessment.perspective, area)].append((rating, assessment))
    since = now - rules.window
    areas: list[str] = []
    held_since: list[datetime] = []
    evidence: dict[uuid.UUID, RatingFact] = {}
    for (_perspective, area), ratings in history.items():
        latest, latest_assessment = ratings[-1]
        if latest_assessment.assessed_at <= since:
            continue
        fell = len(ratings) > 1 and ratings[-2][0] - latest >= rules.compass_drop
        if not fell and latest > rules.compass_low_rating:
            continue
        areas.append(area)
        held_since.append(latest_assessment.created_at)
        evidence[latest_assessment.record_id] = latest_assessment
        if fell:
            evidence[ratings[-2][1].record_id] = ratings[-2][1]
    if not areas:
        return None
    recent = in_window(rules, concerns, now)
    return Signal(
        rule=SignalRule.compass_drop,
        raised_at=min(held_since),
        concern_count=len(recent),
        agency_count=len({concern.agency_id for concern in recent}),
        areas=ordered_areas(areas),
        record_ids=tuple(
            assessment.record_id
            for assessment in sorted(evidence.values(), key=lambda a: (a.assessed_at, a.created_at, a.record_id))
        ),
    )
