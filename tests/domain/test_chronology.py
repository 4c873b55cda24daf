"""The child's chronology: exactly what the caller may see now, in order, paged, codes only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domain.plan_support import circle, move_review_date
from tests.support import Domain, World

SECRET = "Hemligt: pappan har berättat om"  # free text every test writes somewhere; never in a summary


@pytest.fixture
def scene(world: World, domain: Domain) -> dict[str, str]:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    return {"school": school, "social": social, "health": health, "child": domain.child(school)}


def chronology(client: TestClient, headers: dict[str, str], child: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/children/{child}/chronology", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def walk(client: TestClient, headers: dict[str, str], child: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = chronology(client, headers, child, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def kinds(items: list[dict[str, Any]]) -> list[str]:
    return [item["kind"] for item in items]


def change_status(client: TestClient, world: World, agency: str, concern: str, status: str, reason: str) -> None:
    url = f"/api/v1/concerns/{concern}"
    headers = world.headers(agency)
    etag = client.get(url, headers=headers).headers["etag"]
    response = client.patch(
        url, json={"status": status, "status_reason": reason}, headers={**headers, "If-Match": etag}
    )
    assert response.status_code == 200, response.text


def assess(client: TestClient, world: World, agency: str, child: str, rating: int = 2) -> str:
    response = client.post(
        "/api/v1/assessments",
        json={
            "child_id": child,
            "perspective": "professional",
            "areas": {"safe": {"rating": rating, "needs": SECRET}, "healthy": {"strengths": SECRET}},
        },
        headers=world.headers(agency),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_the_reporter_and_social_services_follow_a_report_in_order(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    concern = domain.concern(
        school, child, report_to_agency_id=social, urgency="urgent", areas=["nurtured", "safe"], description=SECRET
    )["id"]
    change_status(client, world, social, concern, "accepted", SECRET)
    decided = client.post(
        f"/api/v1/concerns/{concern}/decision", json={"decision": "investigation_opened"}, headers=world.headers(social)
    )
    assert decided.status_code == 200, decided.text
    change_status(client, world, social, concern, "in_progress", SECRET)
    team = client.post("/api/v1/teams", json={"child_id": child, "purpose": SECRET}, headers=world.headers(school))
    member = client.post(
        f"/api/v1/teams/{team.json()['id']}/members",
        json={"agency_id": school, "role": "contact_person", "person_name": SECRET},
        headers=world.headers(school),
    )
    assert member.status_code == 201, member.text

    mine = chronology(client, world.headers(school), child)["items"]
    assert kinds(mine) == [
        "concern.received",
        "concern.status_changed",
        "concern.decision_recorded",
        "concern.status_changed",
        "team.created",
        "team.member_added",
    ]
    assert [item["agency_id"] for item in mine] == [school, social, social, social, school, school]
    assert [item["summary"] for item in mine[:4]] == [
        "Concern raised (urgent): safe, nurtured; mandatory report to social services",
        "Status received → accepted",
        "Decision: investigation_opened",
        "Status accepted → in_progress",
    ]
    assert mine[5]["summary"] == "Team member added: contact_person (" + school + ")"
    assert [item["at"] for item in mine] == sorted(item["at"] for item in mine)
    assert {item["record_id"] for item in mine[:4]} == {concern}
    # Social services sees the report (a mandatory report needs no consent), not the school's team.
    theirs = chronology(client, world.headers(social), child)["items"]
    assert kinds(theirs) == kinds(mine)[:4]
    assert SECRET not in repr(mine) + repr(theirs)


def test_another_agencys_records_appear_only_with_a_consent_it_confirmed(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, health, child = scene["school"], scene["health"], scene["child"]
    concern = domain.concern(health, child, description=SECRET)["id"]
    assessment = assess(client, world, health, child)
    school_view = world.headers(school)
    assert chronology(client, school_view, child)["items"] == []

    # Recorded by the school alone: the health centre has not decided to disclose anything.
    consent = domain.consent(school, child, [school, health], ("concerns", "assessments"))
    items = chronology(client, school_view, child)["items"]
    assert kinds(items) == ["consent.recorded"]
    assert items[0]["summary"] == "Consent recorded for concerns, assessments"

    domain.confirm(health, consent["id"])
    items = chronology(client, school_view, child)["items"]
    assert {item["record_id"] for item in items} == {concern, assessment, consent["id"]}
    assessed = next(item for item in items if item["kind"] == "assessment.recorded")
    assert assessed["summary"] == "Assessment (professional): safe 2, healthy –"
    confirmed = next(item for item in items if item["kind"] == "consent.confirmed")
    assert confirmed["agency_id"] == health

    domain.withdraw(school, consent["id"])
    items = chronology(client, school_view, child)["items"]
    assert kinds(items) == ["consent.recorded", "consent.confirmed", "consent.withdrawn"]
    assert items[-1]["summary"] == "Consent withdrawn by guardian"
    assert SECRET not in repr(items)


def test_a_consent_that_does_not_cover_a_record_type_opens_none_of_it(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, health, child = scene["school"], scene["health"], scene["child"]
    domain.concern(health, child)
    assess(client, world, health, child)
    domain.shared_consent(school, child, [school, health], ("assessments",))
    items = chronology(client, world.headers(school), child)["items"]
    assert set(kinds(items)) == {"consent.recorded", "consent.confirmed", "assessment.recorded"}


def test_a_police_client_sees_no_assessments(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    police = world.agency("police")
    concern = domain.concern(school, child)["id"]
    assess(client, world, school, child)
    # The school records (and so confirms) a consent opening its concerns and assessments to the police.
    domain.consent(school, child, [school, police], ("concerns", "assessments"))
    items = chronology(client, world.headers(police), child)["items"]
    assert set(kinds(items)) == {"concern.received", "consent.recorded"}
    assert concern in {item["record_id"] for item in items}
    # The same consent shows the assessment to an agency whose role may read assessments.
    health = world.agency("health_care")
    domain.consent(school, child, [school, health], ("concerns", "assessments"))
    assert "assessment.recorded" in kinds(chronology(client, world.headers(health), child)["items"])


def test_a_token_without_a_record_types_scope_gets_none_of_it(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    domain.concern(school, child)
    assess(client, world, school, child)
    credentials = world.client(school)
    narrow = {"Authorization": f"Bearer {world.token(credentials, 'children:read assessments:read')}"}
    assert kinds(chronology(client, narrow, child)["items"]) == ["assessment.recorded"]
    only_children = {"Authorization": f"Bearer {world.token(credentials, 'children:read')}"}
    assert chronology(client, only_children, child)["items"] == []
    no_children = {"Authorization": f"Bearer {world.token(credentials, 'concerns:read')}"}
    response = client.get(f"/api/v1/children/{child}/chronology", headers=no_children)
    assert response.status_code == 403


def test_pages_walk_the_whole_chronology_in_order(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, social, child = scene["school"], scene["social"], scene["child"]
    headers = world.headers(school)
    for _ in range(3):
        concern = domain.concern(school, child, report_to_agency_id=social)["id"]
        change_status(client, world, social, concern, "accepted", SECRET)
    assess(client, world, school, child)
    whole = chronology(client, headers, child, limit=200)["items"]
    assert len(whole) == 7
    assert walk(client, headers, child, limit=2) == whole
    assert walk(client, headers, child, limit=1) == whole
    middle = whole[3]["at"]
    assert walk(client, headers, child, since=middle, limit=2) == whole[3:]
    assert walk(client, headers, child, until=middle, limit=2) == whole[:3]


def test_cursors_are_bound_to_their_child_filters_and_client(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    other_child = domain.child(school)
    for _ in range(2):
        domain.concern(school, child)
    headers = world.headers(school)
    cursor = chronology(client, headers, child, limit=1)["next_cursor"]
    url = f"/api/v1/children/{child}/chronology"
    assert client.get(url, params={"limit": 1, "cursor": cursor}, headers=headers).status_code == 200
    refused = [
        client.get(f"/api/v1/children/{other_child}/chronology", params={"cursor": cursor}, headers=headers),
        client.get(url, params={"cursor": cursor, "since": "2020-01-01T00:00:00Z"}, headers=headers),
        client.get(url, params={"cursor": cursor[:-2] + "xx"}, headers=headers),
        client.get(url, params={"cursor": cursor}, headers=world.headers(world.agency("school"))),
    ]
    assert [response.status_code for response in refused] == [422] * 4
    assert all(response.headers["content-type"] == "application/problem+json" for response in refused)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"since": "yesterday"},
        {"since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        {"cursor": "x" * 2001},
    ],
)
def test_bad_parameters_are_422(
    client: TestClient, world: World, scene: dict[str, str], params: dict[str, Any]
) -> None:
    response = client.get(
        f"/api/v1/children/{scene['child']}/chronology", params=params, headers=world.headers(scene["school"])
    )
    assert response.status_code == 422, response.text


def test_each_request_is_one_log_entry_with_the_child(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    for _ in range(3):
        domain.concern(school, child)
    url = f"/api/v1/children/{child}/chronology"
    client.get(url, params={"limit": 2}, headers={**world.headers(school), "X-Request-ID": "chronology-read"})
    rows = world.sql("SELECT child_id, resource_type, outcome FROM access_log WHERE request_id = 'chronology-read'")
    assert len(rows) == 1
    assert str(rows[0].child_id).replace("-", "") == child.replace("-", "")
    assert (rows[0].resource_type, rows[0].outcome) == ("chronology", "allowed")


def test_an_unknown_child_is_404_and_logged(client: TestClient, world: World, scene: dict[str, str]) -> None:
    unknown = "6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10"
    response = client.get(
        f"/api/v1/children/{unknown}/chronology", headers={**world.headers(scene["school"]), "X-Request-ID": "nochild"}
    )
    assert response.status_code == 404
    rows = world.sql("SELECT outcome FROM access_log WHERE request_id = 'nochild'")
    assert [row.outcome for row in rows] == ["denied"]


def test_team_changes_and_an_expired_consent(
    client: TestClient, world: World, domain: Domain, scene: dict[str, str]
) -> None:
    school, child = scene["school"], scene["child"]
    headers = world.headers(school)
    team = client.post("/api/v1/teams", json={"child_id": child}, headers=headers).json()["id"]
    members = [
        client.post(
            f"/api/v1/teams/{team}/members",
            json={"agency_id": school, "role": role, "person_name": SECRET},
            headers=headers,
        ).json()["id"]
        for role in ("coordinator", "member")
    ]
    assert client.delete(f"/api/v1/teams/{team}/members/{members[0]}", headers=headers).status_code == 200
    assert client.post(f"/api/v1/teams/{team}/close", headers=headers).status_code == 200
    expired = domain.past_consent(school, child, [school, scene["health"]], confirmed_by=[school])
    items = chronology(client, headers, child)["items"]
    # The membership that ended with the closing is part of the closing, as in the events.
    assert [(item["kind"], item["summary"]) for item in items if item["record_type"] == "team"] == [
        ("team.created", "Team formed"),
        ("team.member_added", f"Team member added: coordinator ({school})"),
        ("team.member_added", f"Team member added: member ({school})"),
        ("team.member_ended", f"Team membership ended: coordinator ({school})"),
        ("team.closed", "Team closed"),
    ]
    assert [item["kind"] for item in items if item["record_id"] == expired] == ["consent.recorded", "consent.expired"]
    assert [item["at"] for item in items] == sorted(item["at"] for item in items)
    assert SECRET not in repr(items)


# -- the child's plan ---------------------------------------------------------------------------
def test_a_plans_life_appears_in_order_from_codes_only(client: TestClient, world: World, domain: Domain) -> None:
    c = circle(world, domain)
    plan = c.plan(c.school, summary=SECRET, child_views=SECRET, guardian_views=SECRET)["id"]
    goal = c.goal(c.school, plan, text=SECRET)
    assert goal.status_code == 201, goal.text
    action = c.action(c.school, plan, text=SECRET, goal_id=goal.json()["id"])
    assert action.status_code == 201, action.text
    changed = c.patch(c.school, plan, action.json()["id"], "in_progress", c.etag(c.school, plan))
    assert changed.status_code == 200, changed.text
    progress = [{"goal_id": goal.json()["id"], "status": "progressing", "note": SECRET}]
    assert c.review(c.school, plan, progress=progress, child_views=SECRET).status_code == 201
    move_review_date(world, plan, datetime.now(UTC) - timedelta(days=1))
    assert c.review(c.school, plan).status_code == 201
    assert c.close(c.school, plan).status_code == 200

    items = [item for item in walk(client, world.headers(c.school), c.child) if item["record_type"] == "plan"]
    assert [(item["kind"], item["summary"]) for item in items] == [
        ("plan.created", "Plan created"),
        ("plan.goal_added", "Goal added: safe (expressed by child)"),
        ("plan.action_added", f"Action added, responsible: {c.school}"),
        ("plan.action_status_changed", "Action status planned → in_progress"),
        ("plan.reviewed", "Plan reviewed (on time)"),
        ("plan.reviewed", "Plan reviewed (late)"),
        ("plan.closed", "Plan closed"),
    ]
    assert {item["record_id"] for item in items} == {plan}
    assert {item["agency_id"] for item in items} == {c.school}
    assert [item["at"] for item in items] == sorted(item["at"] for item in items)
    assert SECRET not in repr(items)
    assert "Klart" not in repr(items)


def test_another_agencys_plan_appears_only_with_a_consent_that_agency_confirmed(
    client: TestClient, world: World, domain: Domain
) -> None:
    c = circle(world, domain)
    plan = c.plan(c.health, summary=SECRET)["id"]
    assert c.goal(c.health, plan, text=SECRET).status_code == 201
    school_view = world.headers(c.school)
    assert [item for item in walk(client, school_view, c.child) if item["record_type"] == "plan"] == []
    # Recorded by the school alone: the health centre, whose plan it is, has not confirmed.
    consent = c.plans_consent(c.school, [c.school, c.health], confirmed_by=[])
    assert [item for item in walk(client, school_view, c.child) if item["record_type"] == "plan"] == []
    domain.confirm(c.health, consent)
    items = [item for item in walk(client, school_view, c.child) if item["record_type"] == "plan"]
    assert kinds(items) == ["plan.created", "plan.goal_added"]
    assert {item["agency_id"] for item in items} == {c.health}
    # The health centre always sees its own plan.
    assert "plan.created" in kinds(walk(client, world.headers(c.health), c.child))
    assert SECRET not in repr(items)


def test_a_token_without_plans_read_gets_no_plan_items(client: TestClient, world: World, domain: Domain) -> None:
    c = circle(world, domain)
    c.plan(c.school)
    domain.concern(c.school, c.child)
    credentials = world.client(c.school)
    no_plans = {"Authorization": f"Bearer {world.token(credentials, 'children:read concerns:read')}"}
    assert kinds(chronology(client, no_plans, c.child)["items"]) == ["concern.received"]
    only_plans = {"Authorization": f"Bearer {world.token(credentials, 'children:read plans:read')}"}
    assert kinds(chronology(client, only_plans, c.child)["items"]) == ["plan.created"]
