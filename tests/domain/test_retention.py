"""Retention (gallring): what is past retention goes, with its dependents; nothing else does.

Time never passes here: records are made now, and the purge is asked about a later `now`.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.audit.verify import run_verification
from app.db import Database, create_api_engine, create_sync_engine
from app.models.base import utcnow
from app.ops.retention import plan_retention, run_retention
from app.ops.worker import purge_past_retention, run_worker
from app.security.keys import KeyRing
from app.settings import Settings
from tests.domain.plan_support import circle
from tests.support import Domain, World

DAYS = 30
RETENTION = {
    f"retention_{record_type}_days": DAYS
    for record_type in ("concern", "consent", "assessment", "team", "plan", "child")
}
# Row counts of every table a purge may touch, the log included.
TABLES = (
    "children concerns consents consent_parties consent_withdrawals consent_confirmations assessments "
    "teams team_members plans plan_goals plan_actions plan_reviews signal_raises idempotency_keys "
    "events event_recipients access_log retention_purge_gate"
).split()


def later(days: float) -> datetime:
    return utcnow() + timedelta(days=days)


def plan_counts(settings: Settings, now: datetime) -> dict[str, object]:
    async def count() -> dict[str, object]:
        database = Database(create_api_engine(settings))
        try:
            return await plan_retention(database, settings, now)
        finally:
            await database.dispose()

    return asyncio.run(count())


def purge(settings: Settings, now: datetime, batch_size: int = 100) -> dict[str, object]:
    async def run() -> dict[str, object]:
        database = Database(create_api_engine(settings))
        try:
            return await run_retention(database, settings, "test:retention", now, batch_size=batch_size)
        finally:
            await database.dispose()

    return asyncio.run(run())


def row_counts(world: World) -> dict[str, int]:
    engine = create_sync_engine(world.settings)  # one connection for all the counts
    try:
        with engine.connect() as connection:
            return {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in TABLES}
    finally:
        engine.dispose()


def cancelled_concern(domain: Domain, agency: str, child: str) -> dict[str, Any]:
    concern = domain.concern(agency, child)
    headers = domain.world.headers(agency)
    etag = domain.http.get(f"/api/v1/concerns/{concern['id']}", headers=headers).headers["etag"]
    response = domain.http.patch(
        f"/api/v1/concerns/{concern['id']}", json={"status": "cancelled"}, headers={**headers, "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    return concern


def team_with_member(domain: Domain, agency: str, child: str) -> str:
    headers = domain.world.headers(agency)
    team = domain.http.post("/api/v1/teams", json={"child_id": child}, headers=headers).json()
    member = {"agency_id": agency, "role": "coordinator", "person_name": "Kim Samordnare"}
    assert domain.http.post(f"/api/v1/teams/{team['id']}/members", json=member, headers=headers).status_code == 201
    return str(team["id"])


def close_team(domain: Domain, agency: str, team_id: str) -> None:
    response = domain.http.post(f"/api/v1/teams/{team_id}/close", headers=domain.world.headers(agency))
    assert response.status_code == 200, response.text


def assessment(domain: Domain, agency: str, child: str) -> str:
    body = {"child_id": child, "perspective": "professional", "areas": {"safe": {"rating": 3}}}
    response = domain.http.post("/api/v1/assessments", json=body, headers=domain.world.headers(agency))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def ids(world: World, table: str) -> set[str]:
    return {str(uuid.UUID(str(row[0]))) for row in world.sql(f"SELECT id FROM {table}")}  # noqa: S608


def test_nothing_is_purged_with_the_default_settings(world: World, domain: Domain) -> None:
    school = world.agency("school")
    child = domain.child(school)
    cancelled_concern(domain, school, child)
    domain.withdraw(school, domain.consent(school, child, [school, world.agency("social_services")])["id"])
    before = row_counts(world)
    far = later(100 * 365)
    assert set(plan_counts(world.settings, far).values()) == {0}
    assert set(purge(world.settings, far).values()) == {0}
    after = row_counts(world)
    assert {table: count for table, count in after.items() if table != "access_log"} == {
        table: count for table, count in before.items() if table != "access_log"
    }


def test_closed_records_past_retention_go_with_their_dependents_and_a_purged_event(
    world: World, domain: Domain
) -> None:
    settings = world.settings.model_copy(update=RETENTION)
    ring = circle(world, domain)
    school, social, child = ring.school, ring.social, ring.child
    concern = cancelled_concern(domain, school, child)
    consent = domain.consent(school, child, [school, social], ("concerns", "plans"))
    domain.confirm(social, consent["id"])
    domain.withdraw(social, consent["id"])
    team = team_with_member(domain, social, child)
    plan = ring.plan(social, team_id=team)
    goal = ring.goal(social, plan["id"])
    assert goal.status_code == 201, goal.text
    assert ring.review(social, plan["id"]).status_code == 201
    assert ring.close(social, plan["id"]).status_code == 200
    close_team(domain, social, team)
    record = assessment(domain, school, child)
    purged = {
        ("concern", concern["id"]),
        ("consent", consent["id"]),
        ("team", team),
        ("plan", plan["id"]),
        ("assessment", record),
        ("child", child),
    }

    now = later(DAYS + 1)
    expected = dict.fromkeys(("plan", "team", "concern", "consent", "assessment", "child"), 1)
    assert plan_counts(settings, now) == expected
    assert purge(settings, now) == expected

    for table in ("children", "concerns", "consents", "teams", "plans", "assessments", "plan_goals"):
        assert ids(world, table) == set(), table
    for table in ("consent_parties", "consent_withdrawals", "consent_confirmations", "team_members", "plan_reviews"):
        assert world.sql(f"SELECT count(*) FROM {table}")[0][0] == 0, table  # noqa: S608
    assert world.sql("SELECT count(*) FROM retention_purge_gate")[0][0] == 0
    events = world.sql(
        "SELECT record_type, record_id, child_id, actor_agency_id FROM events WHERE type = 'record.purged'"
    )
    assert {(row[0], row[1]) for row in events} == purged
    assert {str(uuid.UUID(str(row[2]))) for row in events} == {child}
    # The school may see its concern and assessment, and hears they are gone, through the feed.
    feed = world.http.get("/api/v1/events", headers=world.headers(school)).json()["items"]
    told = {(item["record_type"], item["record_id"]) for item in feed if item["type"] == "record.purged"}
    assert {("concern", concern["id"]), ("assessment", record), ("child", child)} <= told
    item = next(item for item in feed if item["type"] == "record.purged")
    assert set(item) == {"id", "type", "occurred_at", "record_type", "record_id", "child_id", "actor_agency_id"}
    # The purge is in the log, by record and child, ids only; and the log still verifies.
    logged = world.sql("SELECT resource_type, resource_id, role FROM access_log WHERE action = 'cli-retention-run'")
    assert purged <= {(row[0], row[1]) for row in logged}
    assert {row[2] for row in logged} == {"operator"}
    result = run_verification(settings, KeyRing.load(settings.signing_key_file), checkpoint=False)
    assert result.valid, result.reason
    # Nothing is left to purge.
    assert set(plan_counts(settings, now).values()) == {0}


def test_open_records_and_records_within_retention_stay(world: World, domain: Domain) -> None:
    settings = world.settings.model_copy(update=RETENTION)
    ring = circle(world, domain)
    school, social, child = ring.school, ring.social, ring.child
    open_concern = domain.concern(school, child)
    active = domain.consent(school, child, [school, social], valid_until=(later(400)).isoformat())
    open_team = world.http.post("/api/v1/teams", json={"child_id": child}, headers=world.headers(school)).json()
    # A closed team that an active plan still names stays with the plan.
    named_team = team_with_member(domain, social, child)
    plan = ring.plan(social, team_id=named_team)
    close_team(domain, social, named_team)
    closed = cancelled_concern(domain, school, child)

    # Within retention: even the cancelled concern stays.
    assert set(plan_counts(settings, later(DAYS - 1)).values()) == {0}
    assert set(purge(settings, later(DAYS - 1)).values()) == {0}
    assert closed["id"] in ids(world, "concerns")
    # Past it: only the cancelled concern goes; the open ones, and so their child, stay.
    assert purge(settings, later(DAYS + 1)) == {
        "plan": 0, "team": 0, "concern": 1, "consent": 0, "assessment": 0, "child": 0
    }  # fmt: skip
    assert ids(world, "concerns") == {open_concern["id"]}
    assert ids(world, "consents") == {active["id"]}
    assert ids(world, "teams") == {open_team["id"], named_team}
    assert ids(world, "plans") == {plan["id"]}
    assert ids(world, "children") == {child}
    # Once its window has ended and the period has passed, the consent is due (expired); the
    # open concern, team and plan still are not, whatever their age.
    assert plan_counts(settings, later(400 + DAYS + 1)) == {
        "plan": 0, "team": 0, "concern": 0, "consent": 1, "assessment": 0, "child": 0
    }  # fmt: skip


def test_the_append_only_guards_still_refuse_a_plain_delete(world: World, domain: Domain) -> None:
    ring = circle(world, domain)
    assessment(domain, ring.school, ring.child)
    plan = ring.plan(ring.social)
    assert ring.goal(ring.social, plan["id"]).status_code == 201
    domain.withdraw(ring.school, domain.consent(ring.school, ring.child, [ring.school, ring.social])["id"])
    for table in ("assessments", "plan_goals", "consent_parties", "consent_withdrawals", "consents"):
        with pytest.raises(DBAPIError, match="append-only"):
            world.sql_write(f"DELETE FROM {table}")  # noqa: S608
        with pytest.raises(DBAPIError, match="append-only"):
            world.sql_write(f"UPDATE {table} SET agency_id = agency_id")  # noqa: S608
    counts = row_counts(world)
    assert all(counts[table] > 0 for table in ("assessments", "plan_goals", "consent_withdrawals", "consents"))


def test_a_gate_row_left_committed_opens_nothing_on_postgresql(world: World, domain: Domain, dialect: str) -> None:
    """Only the purge's own transaction's row counts there (SQLite has no transaction ids: there
    the row exists only inside the purge's transaction, and the single writer is the guard)."""
    if dialect != "postgresql":
        pytest.skip("transaction ids are PostgreSQL's")
    school = world.agency("school")
    assessment(domain, school, domain.child(school))
    world.sql_write("INSERT INTO retention_purge_gate (run_id, opened_at) VALUES (:id, now())", id=uuid.uuid4())
    with pytest.raises(DBAPIError, match="append-only"):
        world.sql_write("DELETE FROM assessments")
    assert row_counts(world)["assessments"] == 1


def test_retention_plan_changes_nothing(world: World, domain: Domain) -> None:
    settings = world.settings.model_copy(update=RETENTION)
    school = world.agency("school")
    child = domain.child(school)
    cancelled_concern(domain, school, child)
    assessment(domain, school, child)
    before = row_counts(world)
    assert plan_counts(settings, later(DAYS + 1)) == {
        "plan": 0, "team": 0, "concern": 1, "consent": 0, "assessment": 1, "child": 1
    }  # fmt: skip
    assert row_counts(world) == before


def test_a_purge_in_small_batches_removes_everything_due_and_logs_each_batch(world: World, domain: Domain) -> None:
    settings = world.settings.model_copy(update={"retention_concern_days": DAYS})
    school = world.agency("school")
    child = domain.child(school)
    concerns = {cancelled_concern(domain, school, child)["id"] for _ in range(5)}
    kept = domain.concern(school, child)["id"]
    assert purge(settings, later(DAYS + 1), batch_size=2)["concern"] == 5
    assert ids(world, "concerns") == {kept}
    logged = world.sql("SELECT request_id, resource_id FROM access_log WHERE action = 'cli-retention-run'")
    assert {row[1] for row in logged} == concerns | {None}  # one per record, and the run's own
    assert len({row[0] for row in logged}) == 4  # three batches (2 + 2 + 1) and the run


def test_the_worker_purges_only_when_a_retention_is_set(world: World, domain: Domain) -> None:
    school = world.agency("school")
    concern = cancelled_concern(domain, school, domain.child(school))

    def worker_pass(settings: Settings) -> None:
        async def run() -> None:
            database = Database(create_api_engine(settings))
            try:
                await purge_past_retention(database, settings, "worker-1")
            finally:
                await database.dispose()

        asyncio.run(run())

    worker_pass(world.settings)
    assert world.sql("SELECT count(*) FROM access_log WHERE action = 'cli-retention-run'")[0][0] == 0
    # A zero-day period cannot be set (1 is the least), so this one is due only in the future:
    # the worker's run finds nothing, and still leaves its entry.
    worker_pass(world.settings.model_copy(update={"retention_concern_days": 1}))
    assert ids(world, "concerns") == {concern["id"]}
    logged = world.sql("SELECT client_id, role FROM access_log WHERE action = 'cli-retention-run'")
    assert [tuple(row) for row in logged] == [("worker:worker-1", "operator")]


def test_the_running_worker_purges_on_its_schedule(world: World) -> None:
    """The worker's loop runs retention at its start (then daily): its entry appears, and the
    worker still stops when told."""
    settings = world.settings.model_copy(update={"retention_concern_days": 1})
    logged = "SELECT count(*) FROM access_log WHERE action = 'cli-retention-run'"

    async def run() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(settings, stop))
        try:
            for _ in range(200):  # until the worker's first pass has logged its run
                if (await asyncio.to_thread(world.sql, logged))[0][0] > 0:
                    break
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.wait_for(worker, timeout=30)

    asyncio.run(run())
    assert world.sql(logged)[0][0] >= 1
