"""The plan's events: to the agencies that may see the plan, and `plan.review_due` from the worker
once per review date that passes without a review (on a clock the test controls)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.db import Database, create_api_engine
from app.services.plan_schedule import publish_due_reviews
from app.settings import Settings
from tests.domain.plan_support import circle
from tests.events.test_feed import all_events
from tests.support import Domain, World


def plan_events(client: TestClient, world: World, agency: str) -> list[tuple[str, str | None]]:
    events = all_events(client, world.headers(agency))
    return [(event["type"], event["actor_agency_id"]) for event in events if event["record_type"] == "plan"]


def run_schedule(settings: Settings, now: datetime) -> int:
    async def run() -> int:
        database = Database(create_api_engine(settings))
        try:
            return await publish_due_reviews(database, now=now)
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_plan_events_reach_exactly_the_agencies_that_may_see_the_plan(
    client: TestClient, world: World, domain: Domain
) -> None:
    c = circle(world, domain)
    plan = c.plan(c.school)["id"]
    c.goal(c.school, plan)
    assert plan_events(client, world, c.social) == []
    c.plans_consent(c.school, [c.school, c.social])  # the health centre is not named
    action = c.action(c.school, plan, responsible=c.social).json()["id"]
    c.patch(c.social, plan, action, "in_progress", c.etag(c.social, plan))
    c.review(c.school, plan)
    c.close(c.school, plan)
    assert plan_events(client, world, c.school) == [
        ("plan.created", c.school),
        ("plan.goal_added", c.school),
        ("plan.action_added", c.school),
        ("plan.action_status_changed", c.social),
        ("plan.reviewed", c.school),
        ("plan.closed", c.school),
    ]
    assert plan_events(client, world, c.social) == plan_events(client, world, c.school)[2:]
    assert plan_events(client, world, c.health) == []
    event = all_events(client, world.headers(c.school))[-1]
    assert (event["record_id"], event["child_id"]) == (plan, c.child)
    assert set(event) == {"id", "type", "occurred_at", "record_type", "record_id", "child_id", "actor_agency_id"}


def test_review_due_is_published_once_per_date_that_passes_without_a_review(
    client: TestClient, world: World, domain: Domain, settings: Settings
) -> None:
    c = circle(world, domain)
    now = datetime.now(UTC)
    c.plans_consent(c.school, [c.school, c.social])
    plan = c.plan(c.school, next_review_at=(now + timedelta(days=30)).isoformat())["id"]
    closed = c.plan(c.health, next_review_at=(now + timedelta(days=30)).isoformat())["id"]
    c.close(c.health, closed)

    assert run_schedule(settings, now + timedelta(days=29)) == 0  # not yet due
    assert run_schedule(settings, now + timedelta(days=31)) == 1  # the closed plan is not reminded
    assert run_schedule(settings, now + timedelta(days=32)) == 0  # once per date
    due = [("plan.review_due", None)]
    assert [event for event in plan_events(client, world, c.school) if event[0] == "plan.review_due"] == due
    assert [event for event in plan_events(client, world, c.social) if event[0] == "plan.review_due"] == due
    assert plan_events(client, world, c.health) == [("plan.created", c.health), ("plan.closed", c.health)]

    # A review moves the date; the new date is reminded again when it passes without a review.
    c.review(c.school, plan, next_review_at=(now + timedelta(days=60)).isoformat())
    assert run_schedule(settings, now + timedelta(days=59)) == 0
    assert run_schedule(settings, now + timedelta(days=61)) == 1
    reminders = [event for event in plan_events(client, world, c.school) if event[0] == "plan.review_due"]
    assert len(reminders) == 2
