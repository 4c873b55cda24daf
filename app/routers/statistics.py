"""Follow-up for leaders: indicators over all agencies, scope `statistics:read` (role `analyst`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query, Security

from app.http.deps import ContextDep, StatisticsCacheDep
from app.http.guard import current_caller
from app.routers.responses import guarded_router
from app.schemas.statistics import GroupBy, StatisticsPublic, StatisticsRow, UnavailableField
from app.security.caller import Caller
from app.services.statistics import Statistics, resolve_period
from app.statistics.indicators import PENDING
from app.statistics.release import Row

router = guarded_router("statistics")
Analyst = Annotated[Caller, Security(current_caller, scopes=["statistics:read"])]
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


CacheDep = StatisticsCacheDep


def _row(row: Row) -> StatisticsRow:
    return StatisticsRow.model_validate(
        {"group": row.group, **dict.fromkeys(PENDING), **row.values, "suppressed": row.suppressed}
    )


def _public(answer: Statistics, threshold: int) -> StatisticsPublic:
    return StatisticsPublic.model_validate(
        {
            "from": f"{answer.period.first:%Y-%m}",
            "to": f"{answer.period.last:%Y-%m}",
            "group_by": answer.group_by,
            "threshold": threshold,
            "rows": [_row(row) for row in answer.rows],
            "total": _row(answer.total),
            "unavailable": [
                UnavailableField(field=name, reason=reason)
                for name, reason in {**PENDING, **answer.unavailable}.items()
            ],
        }
    )


@router.get("/statistics", operation_id="statistics-get", summary="Indicators for leaders")
async def get_statistics(
    caller: Analyst,
    context: ContextDep,
    cache: CacheDep,
    first: Annotated[
        str | None, Query(alias="from", pattern=MONTH, description="First month, YYYY-MM (default: 11 before `to`).")
    ] = None,
    last: Annotated[
        str | None,
        Query(alias="to", pattern=MONTH, description="Last month, included, YYYY-MM (default: the last ended month)."),
    ] = None,
    group_by: GroupBy = GroupBy.month,
) -> StatisticsPublic:
    """Indicators over all agencies for whole calendar months that have ended (at most 36),
    grouped by month, agency kind or municipality, with the period's total. Only counts and
    medians leave the service — never a record, a child or an agency below the group — and
    small numbers are protected: a count below the threshold (default 5) is null and named in
    `suppressed`, and so are the cells that would give it back — from the total, from the
    other grouping of the same months, or from two overlapping periods (a period's count is
    published only when each of its months' is). A median over fewer children than the
    threshold is null. A figure that could still change is not published: the decision
    indicators of a month wait until every mandatory report received in it has its decision
    (for the 14-day count: or its deadline marked passed); until then they are null in every
    row that includes that month and listed in `unavailable` with the months and the reason."""
    context.audit("statistics")
    period = resolve_period(first, last, datetime.now(UTC), cache.zone)
    answer = await cache.answer(await context.connection(), period, group_by.value)
    return _public(answer, cache.threshold)
