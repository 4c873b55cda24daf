"""Log review (PDL 4 kap 3 §, HSLF-FS 2016:40 4 kap 9 §): a reproducible sample and three rules.

The sample. Each of the day's entries gets the key SHA-256(`seed` ‖ ":" ‖ `seq`), and the sample
is the `size` entries with the lowest keys. Whether an entry is picked depends only on the seed
and on that entry's own key compared with the others', so the same seed over the same day gives
the same sample, anyone can recompute it from the entries, and while the day is still growing a
newer entry can only displace a pick, never bring back one displaced before. The reviewer cannot
steer it without changing the seed, which the documented review records.

The rules, for a local day in SAMHANDLING_REVIEW_TIMEZONE (each a setting):
- `many_children`: a client read (allowed GETs) the records of more distinct children than
  SAMHANDLING_REVIEW_MANY_CHILDREN in the day;
- `after_hours`: a client touched a child's records outside the working hours;
- `denial_burst`: a client was denied SAMHANDLING_REVIEW_DENIAL_BURST times or more within
  SAMHANDLING_REVIEW_DENIAL_BURST_MINUTES (an entry with `repeat_count` counts that many times).
Each finding lists at most FINDING_ENTRIES entries and says how many there were in all.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.queries import CHAIN_TO_LOG, chain, chained_entries, log
from app.settings import Settings

FINDING_ENTRIES = 100
# A day's denials are read to find bursts; beyond this many, the rest of the day is not searched
# (the finding then says so by its count being a lower bound). Keeps the review's memory bounded.
MAX_DENIALS_SCANNED = 200_000


@dataclass(frozen=True)
class ReviewRules:
    timezone: ZoneInfo
    working_hours: tuple[int, int]
    many_children: int
    denial_burst: int
    denial_burst_window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewRules:
        return cls(
            timezone=ZoneInfo(settings.review_timezone),
            working_hours=(settings.review_working_hours_start, settings.review_working_hours_end),
            many_children=settings.review_many_children,
            denial_burst=settings.review_denial_burst,
            denial_burst_window=timedelta(minutes=settings.review_denial_burst_minutes),
        )


@dataclass
class Finding:
    rule: str
    client_id: str
    entry_count: int
    entries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Review:
    date: date
    seed: str
    day_entries: int
    sample: list[dict[str, Any]]
    findings: list[Finding]


def sample_key(seed: str, seq: int) -> bytes:
    return hashlib.sha256(f"{seed}:{seq}".encode()).digest()


def day_window(rules: ReviewRules, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), rules.timezone)
    end = datetime.combine(day + timedelta(days=1), time(0), rules.timezone)
    return start, end


async def review_day(session: AsyncSession, rules: ReviewRules, day: date, seed: str, size: int) -> Review:
    start, end = day_window(rules, day)
    in_day = and_(log.c.at >= start, log.c.at < end)
    # Every seq of the day is hashed here (about 1 µs each: a day of a million entries costs a
    # second), because a pick must depend on nothing but the seed and the entry.
    seqs = (await session.execute(select(chain.c.seq).select_from(_joined()).where(in_day))).scalars().all()
    picked = heapq.nsmallest(size, seqs, key=lambda seq: sample_key(seed, seq))
    sample = await _entries(session, chain.c.seq.in_(picked)) if picked else []
    findings = [
        *await _many_children(session, rules, in_day),
        *await _after_hours(session, rules, day, in_day),
        *await _denial_bursts(session, rules, in_day),
    ]
    return Review(day, seed, len(seqs), sample, findings)


def _joined() -> Any:
    return chain.join(log, CHAIN_TO_LOG)


async def _entries(session: AsyncSession, *conditions: ColumnElement[bool]) -> list[dict[str, Any]]:
    statement = chained_entries().where(*conditions).order_by(chain.c.seq).limit(FINDING_ENTRIES)
    return [dict(row) for row in (await session.execute(statement)).mappings()]


async def _per_client(
    session: AsyncSession, rule: str, conditions: Sequence[ColumnElement[bool]], having: ColumnElement[bool] | None
) -> list[Finding]:
    """One finding per client with entries matching `conditions` (and `having` over them)."""
    statement = (
        select(log.c.client_id, func.count().label("hits"))
        .select_from(_joined())
        .where(log.c.client_id.is_not(None), *conditions)
        .group_by(log.c.client_id)
        .order_by(log.c.client_id)
    )
    if having is not None:
        statement = statement.having(having)
    findings = []
    for client_id, hits in (await session.execute(statement)).all():
        entries = await _entries(session, log.c.client_id == client_id, *conditions)
        findings.append(Finding(rule, client_id, int(hits), entries))
    return findings


async def _many_children(session: AsyncSession, rules: ReviewRules, in_day: ColumnElement[bool]) -> list[Finding]:
    reads = [in_day, log.c.child_id.is_not(None), log.c.outcome == "allowed", log.c.method.in_(("GET", "HEAD"))]
    too_many = func.count(log.c.child_id.distinct()) > rules.many_children
    return await _per_client(session, "many_children", reads, too_many)


async def _after_hours(
    session: AsyncSession, rules: ReviewRules, day: date, in_day: ColumnElement[bool]
) -> list[Finding]:
    # Local wall-clock hours, each placed in the zone on its own: a DST change shifts them in UTC.
    opens = _local_hour(rules, day, rules.working_hours[0])
    closes = _local_hour(rules, day, rules.working_hours[1])
    outside = or_(log.c.at < opens, log.c.at >= closes)
    return await _per_client(session, "after_hours", [in_day, log.c.child_id.is_not(None), outside], None)


def _local_hour(rules: ReviewRules, day: date, hour: int) -> datetime:
    if hour >= 24:
        return datetime.combine(day + timedelta(days=1), time(0), rules.timezone)
    return datetime.combine(day, time(hour), rules.timezone)


async def _denial_bursts(session: AsyncSession, rules: ReviewRules, in_day: ColumnElement[bool]) -> list[Finding]:
    statement = (
        select(log.c.client_id, log.c.at, chain.c.seq, log.c.repeat_count)
        .select_from(_joined())
        .where(in_day, log.c.outcome == "denied", log.c.client_id.is_not(None))
        .order_by(log.c.client_id, log.c.at, chain.c.seq)
        .limit(MAX_DENIALS_SCANNED)
    )
    by_client: dict[str, list[tuple[datetime, int, int]]] = {}
    for client_id, at, seq, repeat in (await session.execute(statement)).all():
        by_client.setdefault(client_id, []).append((at, seq, repeat or 1))
    findings = []
    for client_id, denials in by_client.items():
        in_bursts = _in_bursts(denials, rules.denial_burst, rules.denial_burst_window)
        if in_bursts:
            entries = await _entries(session, chain.c.seq.in_(in_bursts[:FINDING_ENTRIES]))
            findings.append(Finding("denial_burst", client_id, len(in_bursts), entries))
    return findings


def _in_bursts(denials: list[tuple[datetime, int, int]], threshold: int, window: timedelta) -> list[int]:
    """The seqs of denials that lie in some window of `window` holding ≥ `threshold` denials."""
    marked: set[int] = set()
    start, weight = 0, 0
    for end, (at, _seq, count) in enumerate(denials):
        weight += count
        while at - denials[start][0] >= window:
            weight -= denials[start][2]
            start += 1
        if weight >= threshold:
            marked.update(seq for _at, seq, _count in denials[start : end + 1])
    return sorted(marked)
