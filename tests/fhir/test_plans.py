"""The child's plan as CarePlan and its goals as Goal: valid R4, the same rule and the same log."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from app.fhir.codes import AREA, GOAL_ACHIEVEMENT, GOAL_PROGRESS, NEXT_REVIEW_AT, PLAN_KIND
from tests.domain.plan_support import iso_now
from tests.fhir.support import Records, entries, fhir, records
from tests.fhir.test_same_rule_and_log import both
from tests.support import Domain, World, in_days

DUE = (date.today() + timedelta(days=30)).isoformat()
TARGET = (date.today() + timedelta(days=60)).isoformat()


@dataclass
class PlanRecords:
    shared: Records
    plan: dict[str, Any]
    goals: list[dict[str, Any]]  # [safe, expressed by the child; healthy, by a guardian]
    actions: list[dict[str, Any]]  # [for the first goal, social services'; the school's own]


def _post(world: World, agency: str, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = world.http.post(path, json=body, headers=world.headers(agency))
    assert response.status_code == status, response.text
    return dict(response.json())


@pytest.fixture
def planned(world: World, domain: Domain) -> PlanRecords:
    """The school's plan for the child, shared with social services by a consent covering plans
    (confirmed by both), on the school's team; two goals, two actions, one review."""
    shared = records(world, domain)
    school, social = shared.school, shared.social
    domain.shared_consent(school, shared.child, [school, social], ("plans",))
    plan = _post(
        world,
        school,
        "/api/v1/plans",
        {
            "child_id": shared.child,
            "kind": "child_plan",
            "team_id": shared.team["id"],
            "summary": "Trygghet i skolan.",
            "child_views": "Jag vill ha en vuxen på rasten.",
            "guardian_views": "Vi vill veta hur det går.",
            "next_review_at": in_days(90),
        },
    )
    base = f"/api/v1/plans/{plan['id']}"
    goals = [
        _post(
            world,
            school,
            f"{base}/goals",
            {"area": "safe", "text": "Känna sig trygg på rasterna.", "expressed_by": "child", "target_date": TARGET},
        ),
        _post(world, school, f"{base}/goals", {"area": "healthy", "text": "Sova bättre.", "expressed_by": "guardian"}),
    ]
    actions = [
        _post(
            world,
            school,
            f"{base}/actions",
            {
                "goal_id": goals[0]["id"],
                "text": "Samtal varannan vecka.",
                "responsible_agency_id": social,
                "due_date": DUE,
            },
        ),
        _post(world, school, f"{base}/actions", {"text": "Rastvärd nära eleven.", "responsible_agency_id": school}),
    ]
    etag = world.http.get(base, headers=world.headers(social)).headers["ETag"]
    changed = world.http.patch(
        f"{base}/actions/{actions[0]['id']}",
        json={"status": "in_progress", "note": "Första samtalet hållet."},
        headers={**world.headers(social), "If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    progress = [
        {"goal_id": goals[0]["id"], "status": "progressing", "note": "Tryggare på rasterna."},
        {"goal_id": goals[1]["id"], "status": "achieved"},
    ]
    _post(
        world, social, f"{base}/reviews", {"held_at": iso_now(), "progress": progress, "next_review_at": in_days(120)}
    )
    return PlanRecords(shared, plan, goals, actions)


def test_a_plan_is_a_care_plan_with_goals_activities_team_and_author(world: World, planned: PlanRecords) -> None:
    shared, plan = planned.shared, planned.plan
    care_plan = fhir(world.http.get(f"/fhir/R4/CarePlan/{plan['id']}", headers=world.headers(shared.social)))
    json_plan = world.http.get(f"/api/v1/plans/{plan['id']}", headers=world.headers(shared.social)).json()
    assert care_plan["id"] == plan["id"]
    assert (care_plan["status"], care_plan["intent"]) == ("active", "plan")
    assert care_plan["category"][0]["coding"][0]["system"] == PLAN_KIND
    assert care_plan["category"][0]["coding"][0]["code"] == "child_plan"
    assert care_plan["subject"] == {"reference": f"Patient/{shared.child}"}
    assert care_plan["author"] == {"reference": f"Organization/{shared.school}"}
    assert care_plan["careTeam"] == [{"reference": f"CareTeam/{shared.team['id']}"}]
    assert care_plan["description"] == "Trygghet i skolan."
    assert care_plan["goal"] == [{"reference": f"Goal/{goal['id']}"} for goal in planned.goals]
    assert "end" not in care_plan["period"]
    assert "supportingInfo" not in care_plan  # a child's plan rests on no SIP consent
    (extension,) = care_plan["extension"]
    assert extension["url"] == NEXT_REVIEW_AT
    assert extension["valueDateTime"][:16] == json_plan["next_review_at"][:16]  # moved by the review
    first, second = care_plan["activity"]
    assert first["detail"]["status"] == "in-progress"
    assert first["detail"]["performer"] == [{"reference": f"Organization/{shared.social}"}]
    assert first["detail"]["goal"] == [{"reference": f"Goal/{planned.goals[0]['id']}"}]
    assert first["detail"]["scheduledPeriod"] == {"end": DUE}
    assert first["detail"]["description"] == "Samtal varannan vecka."
    (note,) = first["progress"]
    assert note["text"] == "Första samtalet hållet."
    assert note["authorReference"] == {"reference": f"Organization/{shared.social}"}
    assert second["detail"]["status"] == "not-started"
    assert second["detail"]["performer"] == [{"reference": f"Organization/{shared.school}"}]
    assert "goal" not in second["detail"]
    assert "scheduledPeriod" not in second["detail"]
    assert care_plan["note"] == [
        {"authorReference": {"reference": f"Patient/{shared.child}"}, "text": "Jag vill ha en vuxen på rasten."},
        {"authorString": "guardian", "text": "Vi vill veta hur det går."},
    ]


def test_activity_status_follows_the_actions_and_a_closed_plan_is_completed(world: World, planned: PlanRecords) -> None:
    shared, base = planned.shared, f"/api/v1/plans/{planned.plan['id']}"
    for action, status in ((planned.actions[0], "done"), (planned.actions[1], "cancelled")):
        etag = world.http.get(base, headers=world.headers(shared.school)).headers["ETag"]
        changed = world.http.patch(
            f"{base}/actions/{action['id']}",
            json={"status": status},
            headers={**world.headers(shared.school), "If-Match": etag},
        )
        assert changed.status_code == 200, changed.text
    _post(world, shared.school, f"{base}/close", {"reason": "Målen nådda."}, 200)
    care_plan = fhir(world.http.get(f"/fhir/R4/CarePlan/{planned.plan['id']}", headers=world.headers(shared.social)))
    assert care_plan["status"] == "completed"
    assert care_plan["period"]["end"]
    assert [activity["detail"]["status"] for activity in care_plan["activity"]] == ["completed", "cancelled"]
    # Every goal of a closed plan is no longer sought; how it went stays in achievementStatus.
    safe = fhir(world.http.get(f"/fhir/R4/Goal/{planned.goals[0]['id']}", headers=world.headers(shared.social)))
    assert safe["lifecycleStatus"] == "completed"
    assert safe["achievementStatus"]["coding"][0]["code"] == "improving"


def test_a_goal_carries_its_area_words_target_and_the_latest_progress(world: World, planned: PlanRecords) -> None:
    shared = planned.shared
    safe = fhir(world.http.get(f"/fhir/R4/Goal/{planned.goals[0]['id']}", headers=world.headers(shared.social)))
    assert safe["lifecycleStatus"] == "active"
    assert safe["category"] == [{"coding": [{"system": AREA, "code": "safe"}]}]
    assert safe["description"] == {"text": "Känna sig trygg på rasterna."}
    assert safe["subject"] == {"reference": f"Patient/{shared.child}"}
    assert safe["expressedBy"] == {"reference": f"Patient/{shared.child}"}
    assert safe["target"] == [{"dueDate": TARGET}]
    assert safe["achievementStatus"] == {
        "coding": [{"system": GOAL_ACHIEVEMENT, "code": "improving"}, {"system": GOAL_PROGRESS, "code": "progressing"}]
    }
    assert safe["statusDate"] == iso_now()[:10]
    (note,) = safe["note"]
    assert note["text"] == "Tryggare på rasterna."
    assert note["authorReference"] == {"reference": f"Organization/{shared.social}"}
    healthy = fhir(world.http.get(f"/fhir/R4/Goal/{planned.goals[1]['id']}", headers=world.headers(shared.school)))
    assert healthy["lifecycleStatus"] == "completed"
    assert healthy["achievementStatus"]["coding"][0] == {"system": GOAL_ACHIEVEMENT, "code": "achieved"}
    assert healthy["expressedBy"] == {"type": "RelatedPerson", "display": "guardian"}
    assert "target" not in healthy
    assert "note" not in healthy


def test_a_new_goal_is_in_progress_and_one_no_longer_relevant_is_cancelled(world: World, planned: PlanRecords) -> None:
    shared, base = planned.shared, f"/api/v1/plans/{planned.plan['id']}"
    goal = _post(
        world, shared.school, f"{base}/goals", {"area": "achieving", "text": "Läsa.", "expressed_by": "professional"}
    )
    new = fhir(world.http.get(f"/fhir/R4/Goal/{goal['id']}", headers=world.headers(shared.school)))
    assert new["lifecycleStatus"] == "active"
    assert new["achievementStatus"] == {"coding": [{"system": GOAL_ACHIEVEMENT, "code": "in-progress"}]}
    assert new["expressedBy"] == {"type": "Practitioner", "display": "professional"}
    review = {"held_at": iso_now(), "progress": [{"goal_id": goal["id"], "status": "no_longer_relevant"}]}
    _post(world, shared.school, f"{base}/reviews", review)
    dropped = fhir(world.http.get(f"/fhir/R4/Goal/{goal['id']}", headers=world.headers(shared.school)))
    assert dropped["lifecycleStatus"] == "cancelled"
    assert dropped["achievementStatus"] == {"coding": [{"system": GOAL_PROGRESS, "code": "no_longer_relevant"}]}


def test_a_sip_is_categorised_so_and_names_its_consent(world: World, domain: Domain) -> None:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    child = domain.child(school)
    consent = domain.shared_consent(school, child, [school, social, health], ("plans",))
    sip = _post(world, school, "/api/v1/plans", {"child_id": child, "kind": "sip", "next_review_at": in_days(30)})
    care_plan = fhir(world.http.get(f"/fhir/R4/CarePlan/{sip['id']}", headers=world.headers(health)))
    assert care_plan["category"][0]["coding"][0]["code"] == "sip"
    assert care_plan["supportingInfo"] == [{"reference": f"Consent/{consent['id']}"}]
    assert not {"goal", "activity", "careTeam"} & set(care_plan)


@pytest.mark.parametrize("resource_type", ["CarePlan", "Goal"])
def test_plan_searches_are_valid_searchsets_by_patient_and_subject(
    world: World, planned: PlanRecords, resource_type: str
) -> None:
    shared = planned.shared
    expected = [planned.plan["id"]] if resource_type == "CarePlan" else [goal["id"] for goal in planned.goals]
    for query in (f"patient={shared.child}", f"subject=Patient/{shared.child}"):
        bundle = fhir(world.http.get(f"/fhir/R4/{resource_type}?{query}", headers=world.headers(shared.social)))
        assert bundle["type"] == "searchset"
        assert [resource["id"] for resource in entries(bundle)] == expected
        assert all(resource["resourceType"] == resource_type for resource in entries(bundle))
        assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/R4/{resource_type}/{expected[0]}")


def test_goal_searches_page_goal_by_goal(world: World, planned: PlanRecords) -> None:
    url: str | None = f"/fhir/R4/Goal?patient={planned.shared.child}&_count=1"
    seen: list[str] = []
    while url:
        bundle = fhir(world.http.get(url, headers=world.headers(planned.shared.social)))
        assert len(bundle.get("entry", [])) <= 1
        seen += [resource["id"] for resource in entries(bundle)]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    assert seen == [goal["id"] for goal in planned.goals]


def _scrubbed(outcome: dict[str, Any]) -> str:
    return re.sub(r"[0-9a-f-]{32,36}", "ID", repr(outcome))


def test_a_plan_without_consent_is_hidden_in_fhir_as_in_json(world: World, planned: PlanRecords) -> None:
    """Health care is named in no consent covering plans: 404 as for a missing record, no entries."""
    shared, headers = planned.shared, world.headers(planned.shared.health)
    assert world.http.get(f"/api/v1/plans/{planned.plan['id']}", headers=headers).status_code == 404
    hidden = fhir(world.http.get(f"/fhir/R4/CarePlan/{planned.plan['id']}", headers=headers), 404)
    missing = fhir(world.http.get(f"/fhir/R4/CarePlan/{uuid.uuid4()}", headers=headers), 404)
    assert _scrubbed(hidden) == _scrubbed(missing)
    hidden_goal = fhir(world.http.get(f"/fhir/R4/Goal/{planned.goals[0]['id']}", headers=headers), 404)
    missing_goal = fhir(world.http.get(f"/fhir/R4/Goal/{uuid.uuid4()}", headers=headers), 404)
    assert _scrubbed(hidden_goal) == _scrubbed(missing_goal)
    assert planned.plan["id"] not in repr(hidden_goal)  # a hidden goal does not name its plan
    for resource_type in ("CarePlan", "Goal"):
        for query in (f"?patient={shared.child}", ""):
            assert entries(fhir(world.http.get(f"/fhir/R4/{resource_type}{query}", headers=headers))) == []


def test_a_plan_under_a_consent_its_agency_has_not_confirmed_stays_hidden(
    world: World, domain: Domain, planned: PlanRecords
) -> None:
    """Health care makes its own plan; the school records a consent naming both that health care
    has not confirmed: the school sees its own plan, not health care's."""
    shared = planned.shared
    child = domain.child(shared.health)
    theirs = _post(
        world, shared.health, "/api/v1/plans", {"child_id": child, "kind": "child_plan", "next_review_at": in_days(30)}
    )
    goal = _post(
        world,
        shared.health,
        f"/api/v1/plans/{theirs['id']}/goals",
        {"area": "healthy", "text": "Äta.", "expressed_by": "child"},
    )
    consent = domain.consent(shared.school, child, [shared.school, shared.health], ("plans",))
    headers = world.headers(shared.school)
    fhir(world.http.get(f"/fhir/R4/CarePlan/{theirs['id']}", headers=headers), 404)
    fhir(world.http.get(f"/fhir/R4/Goal/{goal['id']}", headers=headers), 404)
    for resource_type in ("CarePlan", "Goal"):
        assert entries(fhir(world.http.get(f"/fhir/R4/{resource_type}?patient={child}", headers=headers))) == []
        listed = {
            resource["id"] for resource in entries(fhir(world.http.get(f"/fhir/R4/{resource_type}", headers=headers)))
        }
        assert not {theirs["id"], goal["id"]} & listed
        assert planned.plan["id"] in listed or planned.goals[0]["id"] in listed  # the school's own
    # Once health care confirms, its plan opens to the school in FHIR as in JSON.
    domain.confirm(shared.health, consent["id"])
    fhir(world.http.get(f"/fhir/R4/CarePlan/{theirs['id']}", headers=headers))
    fhir(world.http.get(f"/fhir/R4/Goal/{goal['id']}", headers=headers))


def twins(planned: PlanRecords) -> list[tuple[str, str]]:
    """(JSON url, FHIR url) pairs reading the same thing."""
    plan, goal, child = planned.plan["id"], planned.goals[0]["id"], planned.shared.child
    return [
        (f"/api/v1/plans/{plan}", f"/fhir/R4/CarePlan/{plan}"),
        (f"/api/v1/plans?child_id={child}", f"/fhir/R4/CarePlan?patient={child}"),
        (f"/api/v1/plans/{plan}/goals/{goal}", f"/fhir/R4/Goal/{goal}"),
        (f"/api/v1/plans?child_id={child}", f"/fhir/R4/Goal?subject=Patient/{child}"),
    ]


def test_plan_reads_log_what_their_json_twins_log(world: World, planned: PlanRecords) -> None:
    for json_url, fhir_url in twins(planned):
        json_status, fhir_status, json_entries, fhir_entries = both(
            world, json_url, fhir_url, world.headers(planned.shared.social)
        )
        assert json_status == fhir_status == 200, (fhir_url, fhir_status)
        assert json_entries, json_url
        assert fhir_entries == json_entries, (fhir_url, json_entries, fhir_entries)


def test_hidden_plan_reads_are_404_and_logged_alike(world: World, planned: PlanRecords) -> None:
    for json_url, fhir_url in twins(planned):
        if "?" in json_url:
            continue
        json_status, fhir_status, json_entries, fhir_entries = both(
            world, json_url, fhir_url, world.headers(planned.shared.health)
        )
        assert json_status == fhir_status == 404, (fhir_url, fhir_status)
        assert fhir_entries == json_entries, (fhir_url, json_entries, fhir_entries)
        assert fhir_entries[0][8] == "denied"
        assert fhir_entries[0][6] is not None, "the denial is in the child's access report"


def test_the_police_read_plans_by_consent_without_plan_write(
    world: World, domain: Domain, planned: PlanRecords
) -> None:
    shared = planned.shared
    police = world.agency("police")
    headers = world.headers(police)
    fhir(world.http.get(f"/fhir/R4/CarePlan/{planned.plan['id']}", headers=headers), 404)
    domain.consent(shared.school, shared.child, [shared.school, police], ("plans",))
    care_plan = fhir(world.http.get(f"/fhir/R4/CarePlan/{planned.plan['id']}", headers=headers))
    assert care_plan["goal"] == [{"reference": f"Goal/{goal['id']}"} for goal in planned.goals]
    fhir(world.http.get(f"/fhir/R4/Goal/{planned.goals[0]['id']}", headers=headers))
    assert len(entries(fhir(world.http.get(f"/fhir/R4/Goal?patient={shared.child}", headers=headers)))) == 2
    # The police client holds plans:read, not plans:write.
    assert world.http.post("/api/v1/plans", json={}, headers=headers).status_code == 403


def test_plan_accesses_are_audit_events_about_care_plans(world: World, planned: PlanRecords) -> None:
    request_id = str(uuid.uuid4())
    world.http.get(
        f"/fhir/R4/CarePlan/{planned.plan['id']}",
        headers={**world.headers(planned.shared.social), "X-Request-ID": request_id},
    )
    bundle = fhir(
        world.http.get(f"/fhir/R4/AuditEvent?patient={planned.shared.child}&_count=200", headers=world.auditor())
    )
    (read,) = [event for event in entries(bundle) if event["entity"][0]["what"]["identifier"]["value"] == request_id]
    roles = {entity["role"]["code"]: entity["what"] for entity in read["entity"] if "role" in entity}
    assert roles["4"] == {"reference": f"CarePlan/{planned.plan['id']}"}
    goal_entities = {
        entity["what"]["reference"]
        for event in entries(bundle)
        for entity in event["entity"]
        if entity["what"].get("reference", "").startswith("Goal/")
    }
    assert goal_entities == {f"Goal/{goal['id']}" for goal in planned.goals}  # the goals' creation
