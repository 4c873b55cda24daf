"""The child's plan: making it, who sees it, who writes in it, and a SIP's consent."""

from __future__ import annotations

import httpx2
import pytest

from tests.domain.plan_support import Circle, circle, problem_type
from tests.support import Domain, World


@pytest.fixture
def c(world: World, domain: Domain) -> Circle:
    return circle(world, domain)


def test_a_school_makes_a_plan_and_appends_goals_actions_and_reviews(c: Circle) -> None:
    created = c.create(c.school, summary="Trygg skolgång.", child_views="Jag vill ha en vuxen.")
    plan = created.json()
    assert created.headers["location"] == f"/api/v1/plans/{plan['id']}"
    assert created.headers["etag"].startswith('"')
    assert (plan["agency_id"], plan["kind"], plan["status"], plan["team_id"]) == (
        c.school,
        "child_plan",
        "active",
        None,
    )
    assert (plan["goals"], plan["actions"], plan["reviews"]) == ([], [], [])

    goal = c.goal(c.school, plan["id"], target_date="2027-06-15")
    assert goal.status_code == 201, goal.text
    assert goal.headers["location"] == f"/api/v1/plans/{plan['id']}/goals/{goal.json()['id']}"
    assert (goal.json()["agency_id"], goal.json()["target_date"]) == (c.school, "2027-06-15")
    action = c.action(c.school, plan["id"], goal_id=goal.json()["id"], due_date="2027-01-31")
    assert action.status_code == 201, action.text
    assert action.json()["status"] == "planned"
    assert [item["status"] for item in action.json()["status_history"]] == ["planned"]
    moved_to = "2030-01-01T09:00:00+00:00"
    review = c.review(
        c.school, plan["id"], [{"goal_id": goal.json()["id"], "status": "progressing"}], next_review_at=moved_to
    )
    assert review.status_code == 201, review.text
    assert review.json()["was_due_at"] == plan["next_review_at"]

    fetched = c.get(c.school, plan["id"])
    body = fetched.json()
    assert [item["id"] for item in body["goals"]] == [goal.json()["id"]]
    assert [item["id"] for item in body["actions"]] == [action.json()["id"]]
    assert [item["progress"] for item in body["reviews"]] == [
        [{"goal_id": goal.json()["id"], "status": "progressing", "note": None}]
    ]
    assert body["next_review_at"] == "2030-01-01T09:00:00Z"
    assert fetched.headers["etag"] != created.headers["etag"]
    for location in (goal.headers["location"], action.headers["location"], review.headers["location"]):
        part = c.http.get(location, headers=c.as_(c.school))
        assert part.status_code == 200, location
    assert c.http.get(action.headers["location"], headers=c.as_(c.school)).json() == action.json()


def test_one_active_plan_per_child_for_the_agencies_that_see_it(c: Circle) -> None:
    first = c.plan(c.school)
    second = c.create(c.school, expect=409)
    assert problem_type(second) == "plan-already-active"
    # An agency that cannot see the school's plan is neither blocked nor told about it.
    squatter = c.plan(c.health)
    assert c.get(c.school, squatter["id"]).status_code == 404
    # Once the plans are visible to each other's agencies, a third agency in the circle is blocked.
    c.plans_consent(c.school, [c.school, c.social])
    assert problem_type(c.create(c.social, expect=409)) == "plan-already-active"
    assert c.close(c.school, first["id"]).status_code == 200
    c.create(c.social)


def test_another_agency_sees_the_plan_only_by_a_consent_covering_plans_that_the_plans_agency_confirmed(
    c: Circle,
) -> None:
    plan = c.plan(c.school)["id"]
    assert c.get(c.social, plan).status_code == 404
    c.domain.shared_consent(c.school, c.child, [c.school, c.social], ("concerns", "teams"))
    assert c.get(c.social, plan).status_code == 404  # consent that does not cover plans
    unconfirmed = c.plans_consent(c.social, [c.school, c.social], confirmed_by=[])
    assert c.get(c.social, plan).status_code == 404  # social services' say-so is not the school's
    listed = c.http.get("/api/v1/plans", params={"child_id": c.child}, headers=c.as_(c.social)).json()
    assert listed["items"] == []
    c.domain.confirm(c.school, unconfirmed)
    assert c.get(c.social, plan).status_code == 200
    c.domain.withdraw(c.school, unconfirmed)
    assert c.get(c.social, plan).status_code == 404
    assert c.get(c.social, "00000000-0000-4000-8000-000000000000").status_code == 404


def test_a_sip_needs_a_consent_covering_plans_confirmed_by_the_caller_social_services_and_health_care(
    c: Circle,
) -> None:
    def sip() -> httpx2.Response:
        return c.create(c.school, kind="sip", expect=422)

    assert problem_type(sip()) == "sip-consent-missing"
    assert sip().json()["errors"][0]["loc"] == ["body", "kind"]
    c.domain.shared_consent(c.school, c.child, [c.school, c.social, c.health], ("concerns", "teams"))
    assert problem_type(sip()) == "sip-consent-missing"  # does not cover plans
    c.plans_consent(c.school, [c.school, c.social])
    assert problem_type(sip()) == "sip-consent-missing"  # names no health-care agency
    pending = c.plans_consent(c.school, [c.school, c.social, c.health], confirmed_by=[c.social])
    assert problem_type(sip()) == "sip-consent-missing"  # health care has not confirmed
    recorded_elsewhere = c.plans_consent(c.social, [c.school, c.social, c.health], confirmed_by=[c.health])
    assert problem_type(sip()) == "sip-consent-missing"  # the caller (the school) has not confirmed
    c.domain.confirm(c.school, recorded_elsewhere)
    made = c.create(c.school, kind="sip").json()
    assert (made["kind"], made["consent_id"]) == ("sip", recorded_elsewhere)
    assert pending != recorded_elsewhere


def test_a_withdrawn_or_expired_consent_makes_no_sip(c: Circle) -> None:
    consent = c.plans_consent(c.school, [c.school, c.social, c.health])
    c.domain.withdraw(c.school, consent)
    assert problem_type(c.create(c.school, kind="sip", expect=422)) == "sip-consent-missing"
    c.domain.past_consent(c.school, c.child, [c.school, c.social, c.health], ("concerns",))
    assert problem_type(c.create(c.school, kind="sip", expect=422)) == "sip-consent-missing"


def test_the_agencies_of_active_team_members_write_others_that_see_the_plan_may_not(c: Circle) -> None:
    c.domain.shared_consent(c.school, c.child, [c.school, c.social, c.health], ("teams", "plans"))
    team = c.http.post("/api/v1/teams", json={"child_id": c.child}, headers=c.as_(c.school)).json()["id"]
    member = c.http.post(
        f"/api/v1/teams/{team}/members",
        json={"agency_id": c.social, "role": "coordinator", "person_name": "Karin Berg"},
        headers=c.as_(c.school),
    ).json()["id"]
    plan = c.plan(c.school, team_id=team)["id"]
    assert c.goal(c.social, plan).status_code == 201  # an active member's agency
    refused = c.goal(c.health, plan)  # sees the plan by consent, but is not in the team
    assert (refused.status_code, problem_type(refused)) == (403, "not-a-plan-writer")
    assert c.close(c.health, plan).status_code == 403
    assert c.review(c.health, plan).status_code == 403
    c.http.delete(f"/api/v1/teams/{team}/members/{member}", headers=c.as_(c.school))
    assert c.goal(c.social, plan).status_code == 403  # the membership ended
    assert c.get(c.social, plan).status_code == 200  # it still sees it by the consent


def test_the_police_read_a_plan_by_consent_without_the_compass_and_write_nothing(c: Circle) -> None:
    police = c.world.agency("police")
    c.http.post(
        "/api/v1/assessments",
        json={"child_id": c.child, "perspective": "professional", "areas": {"safe": {"rating": 2}}},
        headers=c.as_(c.school),
    )
    plan = c.plan(c.school)["id"]
    c.goal(c.school, plan)
    assert c.get(police, plan).status_code == 404
    c.domain.consent(c.school, c.child, [c.school, police], ("plans", "assessments"))
    read = c.get(police, plan)
    assert read.status_code == 200
    assert read.json()["goals"][0]["compass"] is None  # police systems read no assessments
    assert c.get(c.school, plan).json()["goals"][0]["compass"]["professional"]["latest"] == 2
    refused = c.goal(police, plan)
    assert refused.status_code == 403
    assert "insufficient_scope" in refused.headers["www-authenticate"]
    assert c.http.post("/api/v1/plans", json={}, headers=c.as_(police)).status_code == 403  # before the body


def test_a_plan_names_a_team_the_caller_may_see_of_the_same_child_and_open(c: Circle) -> None:
    hidden = c.http.post("/api/v1/teams", json={"child_id": c.child}, headers=c.as_(c.health)).json()["id"]
    assert c.create(c.school, team_id=hidden, expect=422).json()["errors"][0]["msg"] == "there is no such team"
    other_child = c.domain.child(c.school)
    other = c.http.post("/api/v1/teams", json={"child_id": other_child}, headers=c.as_(c.school)).json()["id"]
    assert c.create(c.school, team_id=other, expect=422).json()["errors"][0]["msg"] == "the team is another child's"
    own = c.http.post("/api/v1/teams", json={"child_id": c.child}, headers=c.as_(c.school)).json()["id"]
    c.http.post(f"/api/v1/teams/{own}/close", headers=c.as_(c.school))
    assert c.create(c.school, team_id=own, expect=422).json()["errors"][0]["msg"] == "the team is closed"


@pytest.mark.parametrize(
    "fields",
    [
        {"child_id": "00000000-0000-4000-8000-000000000000"},
        {"kind": "care_plan"},
        {"next_review_at": "2020-01-01T00:00:00+00:00"},
        {"next_review_at": "tomorrow"},
        {"summary": "x" * 4001},
        {"child_views": ""},
        {"guardian_views": "a\x00b"},
        {"team_id": "not-a-uuid"},
        {"agency_id": "someone-else"},
    ],
    ids=lambda fields: next(iter(fields)),
)
def test_bad_plans_are_422(c: Circle, fields: dict[str, object]) -> None:
    response = c.create(c.school, expect=422, **fields)
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_log_records_every_read_write_and_denial_with_the_child(c: Circle) -> None:
    world = c.world
    created = c.http.post(
        "/api/v1/plans",
        json={"child_id": c.child, "kind": "child_plan", "next_review_at": "2030-01-01T00:00:00Z"},
        headers={**c.as_(c.school), "X-Request-ID": "plan-create"},
    ).json()
    c.http.post(
        f"/api/v1/plans/{created['id']}/goals",
        json={"area": "safe", "text": "Trygg.", "expressed_by": "guardian"},
        headers={**c.as_(c.school), "X-Request-ID": "plan-goal"},
    )
    c.http.get(f"/api/v1/plans/{created['id']}", headers={**c.as_(c.social), "X-Request-ID": "plan-denied"})
    c.http.get("/api/v1/plans", params={"child_id": c.child}, headers={**c.as_(c.school), "X-Request-ID": "plan-list"})

    def entries(request_id: str) -> list[tuple[object, ...]]:
        rows = world.sql(
            "SELECT action, resource_type, resource_id, child_id, outcome, status_code FROM access_log "
            "WHERE request_id = :r ORDER BY id",
            r=request_id,
        )
        return [(r.action, r.resource_type, r.resource_id, str(r.child_id).replace("-", ""), r.outcome) for r in rows]

    child = c.child.replace("-", "")
    assert entries("plan-create") == [("plans-create", "plan", created["id"], child, "allowed")]
    goal_entries = entries("plan-goal")
    assert [entry[:2] for entry in goal_entries] == [("plans-add-goal", "plan"), ("plans-add-goal", "plan_goal")]
    assert all(entry[3:] == (child, "allowed") for entry in goal_entries)
    assert entries("plan-denied") == [("plans-get", "plan", created["id"], child, "denied")]
    assert entries("plan-list") == [("plans-list", "plan", None, child, "allowed")]


def test_roles_without_plan_scopes_are_refused_before_anything_is_read(c: Circle) -> None:
    plan = c.plan(c.school)["id"]
    for headers in (c.world.auditor(), c.world.admin()):
        for response in (
            c.http.get(f"/api/v1/plans/{plan}", headers=headers),
            c.http.get("/api/v1/plans", headers=headers),
            c.http.post("/api/v1/plans", json={"child_id": c.child}, headers=headers),
            c.http.post(f"/api/v1/plans/{plan}/close", json={"reason": "x"}, headers=headers),
        ):
            assert response.status_code == 403, response.text
            assert problem_type(response) == "insufficient-scope"
    read_only = c.world.token(c.world.client(c.school), scope="plans:read")
    refused = c.http.post(
        f"/api/v1/plans/{plan}/goals",
        json={"area": "safe", "text": "x", "expressed_by": "child"},
        headers={"Authorization": f"Bearer {read_only}"},
    )
    assert refused.status_code == 403
    assert c.http.get(f"/api/v1/plans/{plan}", headers={"Authorization": f"Bearer {read_only}"}).status_code == 200
