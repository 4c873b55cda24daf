"""The indicators that came with concern decisions (issue 19) and plans (issue 20), on constructed
data: each counted from a layout worked out by hand, and a month's decision figures published
only once they can no longer change."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db import create_sync_engine
from app.models.base import table_of
from app.models.concern import Concern
from app.models.plan import Plan, PlanReview
from tests.statistics.test_statistics_api import Facts, at, by_group, stats
from tests.support import World

DAY = timedelta(days=1)
DECISIONS = ("decided_within_14_days", "median_days_to_decision")


class More(Facts):
    def report(
        self,
        reporter: str,
        social: str,
        when: str,
        decided_after: float | None = None,
        overdue: bool = False,
    ) -> uuid.UUID:
        """A mandatory report; decided `decided_after` days after receipt; marked overdue by the
        worker at its deadline (before the decision, if any, was recorded)."""
        moment, concern_id = at(when), uuid.uuid4()
        self.rows.append(
            (
                table_of(Concern),
                {"id": concern_id, "child_id": self.child(), "agency_id": reporter, "areas": ["safe"],
                 "description": "Oro.", "urgency": "routine", "report_to_agency_id": social, "status": "received",
                 "status_history": [{"status": "received", "changed_at": when, "agency_id": reporter}],
                 "decision": None if decided_after is None else "investigation_opened",
                 "decided_at": None if decided_after is None else moment + decided_after * DAY,
                 "decision_agency_id": None if decided_after is None else social,
                 "decision_due_at": moment + 14 * DAY,
                 "decision_overdue_at": moment + 14 * DAY + timedelta(minutes=1) if overdue else None,
                 "created_at": moment, "updated_at": moment},
            )
        )  # fmt: skip
        return concern_id

    def plan(self, agency: str, child: uuid.UUID, created: str, closed: str | None = None) -> uuid.UUID:
        plan_id = uuid.uuid4()
        self.rows.append(
            (
                table_of(Plan),
                {"id": plan_id, "child_id": child, "agency_id": agency, "kind": "child_plan",
                 "next_review_at": at(created) + 90 * DAY, "status": "closed" if closed else "active",
                 "closed_at": at(closed) if closed else None, "closed_by_agency_id": agency if closed else None,
                 "created_at": at(created), "updated_at": at(closed or created)},
            )
        )  # fmt: skip
        return plan_id

    def review(self, plan_id: uuid.UUID, agency: str, recorded: str, held: str, due: str) -> None:
        self.rows.append(
            (
                table_of(PlanReview),
                {"id": uuid.uuid4(), "plan_id": plan_id, "held_at": at(held), "was_due_at": at(due), "progress": [],
                 "agency_id": agency, "created_at": at(recorded)},
            )
        )  # fmt: skip


@pytest.fixture
def county(world: World) -> dict[str, Any]:
    """May to July 2025; mandatory reports from the Lindesberg school to Lindesberg social services.

    May: 7 reports, all decided — after 2, 3, 5, 10, 13 days (within 14), one marked overdue and
    then decided with its date set back to day 4 (not within 14 days: recorded too late), one
    after 30 days (overdue): 5 within 14 days; days 2 3 4 5 10 13 30 → median 5.
    June: 5 decided within 1–3 days, 1 overdue and still undecided: the 14-day count is final (5),
    the median is not.
    July: 5 decided within a day, 1 neither decided nor past its deadline: neither is final.
    Plans (Lindesberg school): children 1–6 from 5 May (child 1's closed 20 June); child 6 also has
    a health-centre plan from 7 May (counted once, at its earliest). End of May 6, end of June 5.
    Reviews recorded in May: 5 on time, 1 late; one recorded in June, held (set back) in May: June.
    """
    a = {
        "school": world.agency("school", municipality="Lindesberg"),
        "social": world.agency("social_services", municipality="Lindesberg"),
        "health": world.agency("health_care", municipality="Nora"),
    }
    facts = More(world, serial=700)
    for days in (2, 3, 5, 10, 13):
        facts.report(a["school"], a["social"], "2025-05-10T12:00:00", days)
    facts.report(a["school"], a["social"], "2025-05-10T12:00:00", 4, overdue=True)
    facts.report(a["school"], a["social"], "2025-05-10T12:00:00", 30, overdue=True)
    for days in (1, 1, 2, 2, 3):
        facts.report(a["school"], a["social"], "2025-06-10T12:00:00", days)
    facts.report(a["school"], a["social"], "2025-06-10T12:00:00", None, overdue=True)
    for _ in range(5):
        facts.report(a["school"], a["social"], "2025-07-10T12:00:00", 0.5)
    open_report = facts.report(a["school"], a["social"], "2025-07-10T12:00:00")
    children = [facts.child() for _ in range(6)]
    plans = [
        facts.plan(a["school"], child, "2025-05-05T12:00:00", "2025-06-20T12:00:00" if index == 0 else None)
        for index, child in enumerate(children)
    ]
    facts.plan(a["health"], children[5], "2025-05-07T12:00:00")
    for plan in plans[:5]:
        facts.review(plan, a["school"], "2025-05-20T12:00:00", held="2025-05-20T10:00:00", due="2025-05-21T00:00:00")
    facts.review(plans[5], a["school"], "2025-05-25T12:00:00", held="2025-05-25T10:00:00", due="2025-05-21T00:00:00")
    facts.review(plans[1], a["school"], "2025-06-03T12:00:00", held="2025-05-28T10:00:00", due="2025-08-01T00:00:00")
    facts.write()
    return {**a, "open_report": open_report}


def test_a_settled_month_publishes_its_decisions(client: TestClient, world: World, county: dict[str, Any]) -> None:
    answer = stats(client, world, **{"from": "2025-05", "to": "2025-05", "group_by": "agency_kind"})
    rows = by_group(answer)
    assert rows["social_services"]["decided_within_14_days"] == 5
    assert rows["social_services"]["median_days_to_decision"] == 5.0
    assert rows["school"]["decided_within_14_days"] == 0  # counted at the deciding agency
    assert (answer["total"]["decided_within_14_days"], answer["total"]["median_days_to_decision"]) == (5, 5.0)
    assert answer["total"]["mandatory_reports"] == 7
    assert answer["unavailable"] == []


def test_a_month_that_can_still_change_is_unavailable_not_suppressed(
    client: TestClient, world: World, county: dict[str, Any]
) -> None:
    answer = stats(client, world, **{"from": "2025-05", "to": "2025-07", "group_by": "month"})
    rows = by_group(answer)
    assert [(rows[month]["decided_within_14_days"], rows[month]["median_days_to_decision"]) for month in rows] == [
        (5, 5.0),
        (5, None),  # one report still awaits its decision: the median could change
        (None, None),  # one report neither decided nor past its deadline
    ]
    total = answer["total"]
    assert (total["decided_within_14_days"], total["median_days_to_decision"]) == (None, None)
    for row in [*answer["rows"], total]:
        assert not set(DECISIONS) & set(row["suppressed"])
    reasons = {item["field"]: item["reason"] for item in answer["unavailable"]}
    assert set(reasons) == set(DECISIONS)
    assert reasons["decided_within_14_days"].startswith("2025-07: Not final yet")
    assert reasons["median_days_to_decision"].startswith("2025-06, 2025-07: Not final yet")

    # Not cached: once July's last report is decided, July is published.
    engine = create_sync_engine(world.settings)
    try:
        with engine.begin() as connection:
            concerns = table_of(Concern)
            connection.execute(
                concerns.update()
                .where(concerns.c.id == county["open_report"])
                .values(
                    decision="not_opened", decided_at=at("2025-07-11T12:00:00"), decision_agency_id=county["social"]
                )
            )
    finally:
        engine.dispose()
    july = stats(client, world, **{"from": "2025-07", "to": "2025-07", "group_by": "month"})
    assert (july["total"]["decided_within_14_days"], july["total"]["median_days_to_decision"]) == (6, 0.0)
    assert july["unavailable"] == []


def test_children_with_an_active_plan_and_reviews_on_time(
    client: TestClient, world: World, county: dict[str, Any]
) -> None:
    answer = stats(client, world, **{"from": "2025-05", "to": "2025-06", "group_by": "month"})
    rows = by_group(answer)
    assert [rows[month]["children_with_active_plan"] for month in ("2025-05", "2025-06")] == [6, 5]
    # The review recorded in June counts in June (1: suppressed), whatever its held_at says.
    assert [rows[month]["reviews_on_time"] for month in ("2025-05", "2025-06")] == [5, None]
    assert set(rows["2025-06"]["suppressed"]) == {"reviews_on_time", "median_days_concern_to_team"}
    assert answer["total"]["children_with_active_plan"] == 5
    assert answer["total"]["reviews_on_time"] is None  # June's hidden month is not given back
    kinds = by_group(stats(client, world, **{"from": "2025-05", "to": "2025-05", "group_by": "agency_kind"}))
    assert (kinds["school"]["children_with_active_plan"], kinds["health_care"]["children_with_active_plan"]) == (6, 0)
    assert kinds["school"]["reviews_on_time"] == 5
