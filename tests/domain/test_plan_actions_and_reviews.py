"""A plan's actions (responsible agency, status with If-Match), reviews, goals' compass, closing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.domain.plan_support import Circle, circle, iso_now, move_review_date, problem_type
from tests.support import Domain, World


@pytest.fixture
def c(world: World, domain: Domain) -> Circle:
    return circle(world, domain)


def test_the_responsible_agency_is_the_plans_or_linked_by_a_consent_the_plans_agency_confirmed(c: Circle) -> None:
    plan = c.plan(c.school)["id"]
    unknown = c.action(c.school, plan, responsible="no-such-agency")
    assert (unknown.status_code, problem_type(unknown)) == (422, "validation-error")
    unlinked = c.action(c.school, plan, responsible=c.social)
    assert (unlinked.status_code, problem_type(unlinked)) == (422, "responsible-agency-not-linked")
    assert unlinked.json()["errors"][0]["loc"] == ["body", "responsible_agency_id"]
    c.domain.shared_consent(c.school, c.child, [c.school, c.social], ("concerns", "teams"))
    assert problem_type(c.action(c.school, plan, responsible=c.social)) == "responsible-agency-not-linked"
    # Recorded by social services and not confirmed by the school, whose plan it is: not linked.
    consent = c.plans_consent(c.social, [c.school, c.social], confirmed_by=[])
    assert problem_type(c.action(c.school, plan, responsible=c.social)) == "responsible-agency-not-linked"
    c.domain.confirm(c.school, consent)
    linked = c.action(c.school, plan, responsible=c.social)
    assert linked.status_code == 201, linked.text
    assert linked.json()["responsible_agency_id"] == c.social


def test_an_action_status_needs_the_plans_etag_and_keeps_its_history(c: Circle) -> None:
    plan = c.plan(c.school)["id"]
    action = c.action(c.school, plan).json()["id"]
    missing = c.patch(c.school, plan, action, "in_progress", None)
    assert (missing.status_code, problem_type(missing)) == (428, "precondition-required")
    etag = c.etag(c.school, plan)
    changed = c.patch(c.school, plan, action, "in_progress", etag)
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] != etag
    assert changed.json()["actions"][0]["status"] == "in_progress"
    stale = c.patch(c.school, plan, action, "done", etag)
    assert (stale.status_code, problem_type(stale)) == (412, "precondition-failed")
    done = c.patch(c.school, plan, action, "done", changed.headers["etag"])
    assert done.status_code == 200
    history = done.json()["actions"][0]["status_history"]
    assert [(item["status"], item["from_status"], item["agency_id"]) for item in history] == [
        ("planned", None, c.school),
        ("in_progress", "planned", c.school),
        ("done", "in_progress", c.school),
    ]
    final = c.patch(c.school, plan, action, "cancelled", done.headers["etag"])
    assert (final.status_code, problem_type(final)) == (409, "action-transition-not-allowed")
    assert c.patch(c.school, plan, action, "planned", "*").status_code == 409


def test_the_responsible_agency_may_change_its_action_others_may_not(c: Circle) -> None:
    c.domain.shared_consent(c.school, c.child, [c.school, c.social, c.health], ("plans", "teams"))
    team = c.http.post("/api/v1/teams", json={"child_id": c.child}, headers=c.as_(c.school)).json()["id"]
    c.http.post(
        f"/api/v1/teams/{team}/members",
        json={"agency_id": c.health, "role": "member", "person_name": "Sara Sjuksköterska"},
        headers=c.as_(c.school),
    )
    plan = c.plan(c.school, team_id=team)["id"]
    socials = c.action(c.school, plan, responsible=c.social).json()["id"]
    changed = c.patch(c.social, plan, socials, "in_progress", c.etag(c.social, plan))
    assert changed.status_code == 200, changed.text
    assert changed.json()["actions"][0]["status_history"][-1]["agency_id"] == c.social
    # Health care writes in the plan (a team member) but is not responsible for this action.
    refused = c.patch(c.health, plan, socials, "done", c.etag(c.health, plan))
    assert (refused.status_code, problem_type(refused)) == (403, "not-a-plan-writer")
    unseen = c.world.agency("school")
    assert c.patch(unseen, plan, socials, "done", "*").status_code == 404
    assert c.patch(c.school, plan, "00000000-0000-4000-8000-000000000000", "done", "*").status_code == 404


def test_a_goal_of_another_plan_is_422(c: Circle) -> None:
    first = c.plan(c.school)["id"]
    foreign_goal = c.goal(c.school, first).json()["id"]
    c.close(c.school, first)
    plan = c.plan(c.school)["id"]
    own_goal = c.goal(c.school, plan).json()["id"]
    action = c.action(c.school, plan, goal_id=foreign_goal)
    assert (action.status_code, problem_type(action)) == (422, "goal-not-in-plan")
    progress = [{"goal_id": own_goal, "status": "achieved"}, {"goal_id": foreign_goal, "status": "achieved"}]
    review = c.review(c.school, plan, progress)
    assert (review.status_code, problem_type(review)) == (422, "goal-not-in-plan")
    assert review.json()["errors"][0]["loc"] == ["body", "progress", 1, "goal_id"]
    twice = c.review(c.school, plan, [progress[0], progress[0]])
    assert twice.status_code == 422
    assert c.http.get(f"/api/v1/plans/{plan}/goals/{foreign_goal}", headers=c.as_(c.school)).status_code == 404
    assert c.get(c.school, plan).json()["reviews"] == []


def test_a_closed_plan_takes_no_goals_actions_status_changes_or_reviews(c: Circle) -> None:
    plan = c.plan(c.school)["id"]
    action = c.action(c.school, plan).json()["id"]
    closed = c.close(c.school, plan)
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["closed_reason"]) == ("closed", "Klart.")
    for response in (
        c.goal(c.school, plan),
        c.action(c.school, plan),
        c.review(c.school, plan),
        c.patch(c.school, plan, action, "done", closed.headers["etag"]),
        c.close(c.school, plan),
    ):
        assert (response.status_code, problem_type(response)) == (409, "plan-closed"), response.text
    listed = c.http.get("/api/v1/plans", params={"status": "closed"}, headers=c.as_(c.school)).json()["items"]
    assert [item["id"] for item in listed] == [plan]


def test_a_review_moves_the_next_review_and_must_set_one_once_the_date_has_passed(c: Circle) -> None:
    plan = c.plan(c.school)["id"]
    future = c.review(c.school, plan, held_at=iso_now(timedelta(days=1)))
    assert future.json()["errors"][0]["loc"] == ["body", "held_at"]
    past_date = c.review(c.school, plan, next_review_at=iso_now(-timedelta(days=1)))
    assert past_date.json()["errors"][0]["loc"] == ["body", "next_review_at"]
    before_the_plan = c.review(c.school, plan, held_at=iso_now(-timedelta(days=30)))
    assert before_the_plan.status_code == 422
    kept = c.review(c.school, plan, next_review_at=None)
    assert kept.status_code == 201  # the date lies ahead: it stays
    assert kept.json()["next_review_at"] is None
    move_review_date(c.world, plan, datetime.now(UTC) - timedelta(days=1))
    overdue = c.review(c.school, plan, next_review_at=None)
    assert overdue.status_code == 422
    assert overdue.json()["errors"][0]["loc"] == ["body", "next_review_at"]
    assert c.review(c.school, plan).status_code == 201
    assert len(c.get(c.school, plan).json()["reviews"]) == 2


def test_each_goal_shows_its_areas_latest_and_previous_visible_ratings(c: Circle) -> None:
    def assess(agency: str, rating: int, assessed_at: str) -> None:
        body = {
            "child_id": c.child,
            "perspective": "professional",
            "assessed_at": assessed_at,
            "areas": {"safe": {"rating": rating}, "healthy": {"rating": 5}},
        }
        assert c.http.post("/api/v1/assessments", json=body, headers=c.as_(agency)).status_code == 201

    assess(c.school, 2, iso_now(-timedelta(days=20)))
    assess(c.school, 4, iso_now(-timedelta(days=10)))
    assess(c.social, 1, iso_now(-timedelta(days=1)))  # social services' own: the school may not see it
    plan = c.plan(c.school)["id"]
    c.goal(c.school, plan, area="safe")
    c.goal(c.school, plan, area="included")
    safe, included = c.get(c.school, plan).json()["goals"]
    assert {key: safe["compass"]["professional"][key] for key in ("latest", "previous", "change")} == {
        "latest": 4,
        "previous": 2,
        "change": 2,
    }
    assert set(safe["compass"]) == {"professional"}
    assert included["compass"] == {}
    etag = c.etag(c.school, plan)
    c.domain.shared_consent(c.school, c.child, [c.school, c.social], ("assessments",))
    after = c.get(c.school, plan)
    assert after.json()["goals"][0]["compass"]["professional"]["latest"] == 1  # now visible
    assert after.headers["etag"] == etag  # the plan itself did not change


def test_lists_page_filter_and_show_only_visible_plans(c: Circle) -> None:
    made = [c.plan(c.school)["id"]]
    for _ in range(2):
        c.close(c.school, made[-1])
        made.append(c.plan(c.school)["id"])
    c.plan(c.health)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"child_id": c.child, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = c.http.get("/api/v1/plans", params=params, headers=c.as_(c.school)).json()
        seen += [item["id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == made
    active = c.http.get("/api/v1/plans", params={"status": "active"}, headers=c.as_(c.school)).json()["items"]
    assert [item["id"] for item in active] == [made[-1]]
    foreign = c.http.get("/api/v1/plans", params={"cursor": "abc.def"}, headers=c.as_(c.school))
    assert foreign.status_code == 422
    assert c.http.get("/api/v1/plans", params={"status": "open"}, headers=c.as_(c.school)).status_code == 422


def test_a_retried_create_with_the_same_idempotency_key_makes_one_plan(c: Circle) -> None:
    body = {"child_id": c.child, "kind": "child_plan", "next_review_at": "2030-01-01T00:00:00Z"}
    headers = {**c.as_(c.school), "Idempotency-Key": "plan-1"}
    first = c.http.post("/api/v1/plans", json=body, headers=headers)
    again = c.http.post("/api/v1/plans", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    other = c.http.post("/api/v1/plans", json={**body, "summary": "Annat."}, headers=headers)
    assert other.status_code == 422
    goal = {"area": "safe", "text": "Trygg.", "expressed_by": "child"}
    key = {**c.as_(c.school), "Idempotency-Key": "goal-1"}
    one = c.http.post(f"/api/v1/plans/{first.json()['id']}/goals", json=goal, headers=key)
    two = c.http.post(f"/api/v1/plans/{first.json()['id']}/goals", json=goal, headers=key)
    assert one.json() == two.json()
    assert len(c.get(c.school, first.json()["id"]).json()["goals"]) == 1


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("goals", {"area": "happy", "text": "x", "expressed_by": "child"}),
        ("goals", {"area": "safe", "text": "", "expressed_by": "child"}),
        ("goals", {"area": "safe", "text": "x" * 2001, "expressed_by": "child"}),
        ("goals", {"area": "safe", "text": "x", "expressed_by": "teacher"}),
        ("goals", {"area": "safe", "text": "x", "expressed_by": "child", "target_date": 1700000000}),
        ("goals", {"area": "safe", "text": "x", "expressed_by": "child", "target_date": "2027-02-30"}),
        ("actions", {"text": "x"}),
        ("actions", {"text": "x", "responsible_agency_id": "BAD SLUG"}),
        ("actions", {"text": "x", "responsible_agency_id": "a", "goal_id": "nope"}),
        ("reviews", {"held_at": "2026-01-01T00:00:00Z"}),
        ("reviews", {"held_at": "yesterday", "progress": []}),
        ("reviews", {"held_at": "2026-01-01T00:00:00Z", "progress": [{"goal_id": "x", "status": "achieved"}]}),
        ("close", {}),
        ("close", {"reason": ""}),
    ],
)
def test_bad_bodies_are_422_problems(c: Circle, path: str, body: dict[str, object]) -> None:
    plan = c.plan(c.school)["id"]
    response = c.http.post(f"/api/v1/plans/{plan}/{path}", json=body, headers=c.as_(c.school))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
