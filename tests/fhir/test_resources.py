"""Every resource type the view serves, read and searched, is valid FHIR R4 and says what the JSON says."""

from __future__ import annotations

import pytest

from app.fhir.codes import (
    DECISION,
    HSA_ID,
    ORGANISATION_NUMBER,
    PERSONNUMMER,
    RECORD_TYPE,
    SAMORDNINGSNUMMER,
    SCHOOL_UNIT_CODE,
)
from tests.fhir.support import Records, entries, fhir, records
from tests.support import Domain, World, personnummer


@pytest.fixture
def shared(world: World, domain: Domain) -> Records:
    return records(world, domain)


def test_a_concern_is_a_task_with_requester_owner_and_codes(world: World, shared: Records) -> None:
    task = fhir(world.http.get(f"/fhir/R4/Task/{shared.concern['id']}", headers=world.headers(shared.social)))
    assert task["id"] == shared.concern["id"]
    assert (task["status"], task["intent"], task["priority"]) == ("requested", "order", "routine")
    assert task["for"] == {"reference": f"Patient/{shared.child}"}
    assert task["requester"] == {"reference": f"Organization/{shared.school}"}
    assert task["owner"] == {"reference": f"Organization/{shared.social}"}
    areas = [
        item["valueCodeableConcept"]["coding"][0]["code"] for item in task["input"] if "valueCodeableConcept" in item
    ]
    assert areas == ["safe", "healthy"]
    assert task["description"] == shared.concern["description"]


def test_task_status_follows_the_concern_workflow(world: World, shared: Records) -> None:
    headers = world.headers(shared.social)
    for status, expected in (("accepted", "accepted"), ("in_progress", "in-progress"), ("completed", "completed")):
        current = world.http.get(f"/api/v1/concerns/{shared.concern['id']}", headers=headers)
        changed = world.http.patch(
            f"/api/v1/concerns/{shared.concern['id']}",
            json={"status": status},
            headers={**headers, "If-Match": current.headers["ETag"]},
        )
        assert changed.status_code == 200, changed.text
        task = fhir(world.http.get(f"/fhir/R4/Task/{shared.concern['id']}", headers=headers))
        assert task["status"] == expected


def test_the_decision_is_the_tasks_business_status_as_visible_as_in_the_json(world: World, shared: Records) -> None:
    url = f"/fhir/R4/Task/{shared.concern['id']}"
    assert "businessStatus" not in fhir(world.http.get(url, headers=world.headers(shared.social)))
    decided = world.http.post(
        f"/api/v1/concerns/{shared.concern['id']}/decision",
        json={"decision": "investigation_opened"},
        headers=world.headers(shared.social),
    )
    assert decided.status_code == 200, decided.text
    for agency in (shared.social, shared.school):  # the deciding agency and the reporter
        json_view = world.http.get(f"/api/v1/concerns/{shared.concern['id']}", headers=world.headers(agency)).json()
        assert json_view["decision"]["decision"] == "investigation_opened"
        task = fhir(world.http.get(url, headers=world.headers(agency)))
        assert task["businessStatus"] == {"coding": [{"system": DECISION, "code": "investigation_opened"}]}
        found = fhir(world.http.get(f"/fhir/R4/Task?patient={shared.child}", headers=world.headers(agency)))
        [searched] = [item for item in entries(found) if item["id"] == shared.concern["id"]]
        assert searched["businessStatus"] == task["businessStatus"]
    # An agency that may not see the concern sees no Task at all, so no decision either.
    fhir(world.http.get(url, headers=world.headers(shared.health)), 404)


def test_a_consent_lists_parties_confirmations_period_and_record_types(world: World, shared: Records) -> None:
    consent = fhir(world.http.get(f"/fhir/R4/Consent/{shared.consent['id']}", headers=world.headers(shared.school)))
    assert consent["status"] == "active"
    assert consent["patient"] == {"reference": f"Patient/{shared.child}"}
    provision = consent["provision"]
    assert {actor["reference"]["reference"] for actor in provision["actor"]} == {
        f"Organization/{shared.school}",
        f"Organization/{shared.social}",
    }
    assert all(actor["extension"][0]["valueDateTime"] for actor in provision["actor"])  # both confirmed
    assert [(c["system"], c["code"]) for c in provision["class"]] == [
        (RECORD_TYPE, "concerns"),
        (RECORD_TYPE, "assessments"),
        (RECORD_TYPE, "teams"),
    ]
    assert provision["period"]["end"].startswith(shared.consent["valid_until"][:10])


def test_a_withdrawn_consent_is_rejected_and_an_unconfirmed_party_has_no_confirmation(
    world: World, domain: Domain, shared: Records
) -> None:
    pending = domain.consent(shared.school, shared.child, [shared.school, shared.health])
    consent = fhir(world.http.get(f"/fhir/R4/Consent/{pending['id']}", headers=world.headers(shared.school)))
    confirmed = {actor["reference"]["reference"]: "extension" in actor for actor in consent["provision"]["actor"]}
    assert confirmed == {f"Organization/{shared.school}": True, f"Organization/{shared.health}": False}
    domain.withdraw(shared.school, pending["id"])
    consent = fhir(world.http.get(f"/fhir/R4/Consent/{pending['id']}", headers=world.headers(shared.school)))
    assert consent["status"] == "rejected"


def test_a_team_is_a_care_team_with_its_memberships(world: World, shared: Records) -> None:
    team = fhir(world.http.get(f"/fhir/R4/CareTeam/{shared.team['id']}", headers=world.headers(shared.social)))
    assert team["status"] == "active"
    assert team["managingOrganization"] == [{"reference": f"Organization/{shared.school}"}]
    (participant,) = team["participant"]
    assert participant["member"] == {"display": "Karin Berg"}
    assert participant["onBehalfOf"] == {"reference": f"Organization/{shared.social}"}
    assert participant["role"][0]["coding"][0]["code"] == "coordinator"
    closed = world.http.post(f"/api/v1/teams/{shared.team['id']}/close", headers=world.headers(shared.school))
    assert closed.status_code == 200
    team = fhir(world.http.get(f"/fhir/R4/CareTeam/{shared.team['id']}", headers=world.headers(shared.school)))
    assert team["status"] == "inactive"
    assert team["period"]["end"]
    assert team["participant"][0]["period"]["end"]


def test_an_assessment_is_a_questionnaire_response_with_one_item_per_area(world: World, shared: Records) -> None:
    response = fhir(
        world.http.get(
            f"/fhir/R4/QuestionnaireResponse/{shared.assessment['id']}", headers=world.headers(shared.social)
        )
    )
    assert response["status"] == "completed"
    assert response["author"] == {"reference": f"Organization/{shared.school}"}
    items = {item["linkId"]: {sub["linkId"]: sub["answer"][0] for sub in item["item"]} for item in response["item"]}
    assert items == {
        "safe": {"safe.rating": {"valueInteger": 2}, "safe.needs": {"valueString": "Otrygg."}},
        "included": {"included.strengths": {"valueString": "Vänner."}},
    }


def test_a_patient_carries_the_personnummer_only_with_children_read(world: World, shared: Records) -> None:
    patient = fhir(world.http.get(f"/fhir/R4/Patient/{shared.child}", headers=world.headers(shared.school)))
    (identifier,) = patient["identifier"]
    assert identifier["system"] == PERSONNUMMER
    assert len(identifier["value"]) == 12
    assert patient["birthDate"] == "2014-03-01"
    token = world.token(world.client(shared.social), scope="concerns:read")
    bare = fhir(world.http.get(f"/fhir/R4/Patient/{shared.child}", headers={"Authorization": f"Bearer {token}"}))
    assert bare == {"resourceType": "Patient", "id": shared.child, "meta": patient["meta"]}
    auditor = world.http.get(f"/fhir/R4/Patient/{shared.child}", headers=world.auditor())
    assert fhir(auditor, 403)["issue"][0]["code"] == "forbidden"


def test_a_samordningsnummer_has_its_own_system(world: World, shared: Records) -> None:
    number = personnummer("20140361", 204)  # day + 60
    child = world.http.post("/api/v1/children", json={"personnummer": number}, headers=world.headers(shared.school))
    patient = fhir(world.http.get(f"/fhir/R4/Patient/{child.json()['id']}", headers=world.headers(shared.school)))
    assert patient["identifier"][0]["system"] == SAMORDNINGSNUMMER
    assert patient["birthDate"] == "2014-03-01"


def test_an_agency_is_an_organization_with_its_identifiers(world: World, shared: Records) -> None:
    organization = fhir(world.http.get(f"/fhir/R4/Organization/{shared.school}", headers=world.admin()))
    assert {(i["system"], i["value"]) for i in organization["identifier"]} == {
        (ORGANISATION_NUMBER, "2120001231"),
        (SCHOOL_UNIT_CODE, "12345678"),
    }
    social = fhir(world.http.get(f"/fhir/R4/Organization/{shared.social}", headers=world.admin()))
    assert social["identifier"] == [
        {
            "type": social["identifier"][0]["type"],
            "system": HSA_ID,
            "value": "SE2321000016-15CQ",
        }
    ]
    # An agency's own admin reads its own agency only, as in the JSON API.
    own = world.agency_admin(shared.school)
    fhir(world.http.get(f"/fhir/R4/Organization/{shared.school}", headers=own))
    fhir(world.http.get(f"/fhir/R4/Organization/{shared.social}", headers=own), 403)
    listed = fhir(world.http.get("/fhir/R4/Organization", headers=own))
    assert [resource["id"] for resource in entries(listed)] == [shared.school]


@pytest.mark.parametrize(
    ("resource_type", "agency"),
    [("Task", "social"), ("Consent", "school"), ("CareTeam", "social"), ("QuestionnaireResponse", "social")],
)
def test_every_record_search_is_a_valid_searchset(
    world: World, shared: Records, resource_type: str, agency: str
) -> None:
    headers = world.headers(getattr(shared, agency))
    for parameter in ("patient", "subject") if resource_type != "Consent" else ("patient",):
        bundle = fhir(world.http.get(f"/fhir/R4/{resource_type}?{parameter}=Patient/{shared.child}", headers=headers))
        assert bundle["type"] == "searchset"
        (resource,) = entries(bundle)
        assert resource["resourceType"] == resource_type
        assert bundle["entry"][0]["fullUrl"].endswith(f"/fhir/R4/{resource_type}/{resource['id']}")


def test_searches_page_with_next_links_bound_to_their_filters(world: World, domain: Domain, shared: Records) -> None:
    for _ in range(4):
        domain.concern(shared.school, shared.child)
    headers = world.headers(shared.school)
    url: str | None = f"/fhir/R4/Task?patient={shared.child}&_count=2"
    seen: list[str] = []
    pages = 0
    while url:
        bundle = fhir(world.http.get(url, headers=headers))
        seen += [resource["id"] for resource in entries(bundle)]
        pages += 1
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        if url:
            assert "patient=" in url
            assert "_count=2" in url
            cursor = url.split("_cursor=")[1]
            # The cursor is bound to the filter: another patient's search refuses it.
            other = world.http.get(
                f"/fhir/R4/Task?patient={domain.child(shared.school)}&_count=2&_cursor={cursor}", headers=headers
            )
            fhir(other, 422)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5


def test_audit_events_are_shaped_as_balp(world: World, shared: Records) -> None:
    world.http.get(
        f"/fhir/R4/Task/{shared.concern['id']}", headers={**world.headers(shared.social), "X-Request-ID": "balp-read"}
    )
    bundle = fhir(world.http.get(f"/fhir/R4/AuditEvent?patient={shared.child}&_count=200", headers=world.auditor()))
    events = entries(bundle)
    assert events, "the child's accesses are in the log"
    (read,) = [event for event in events if event["entity"][0]["what"]["identifier"]["value"] == "balp-read"]
    assert read["type"]["code"] == "rest"
    assert read["subtype"][0]["code"] == "read"
    assert read["action"] == "R"
    assert read["outcome"] == "0"
    agent_types = [agent["type"]["coding"][0]["code"] for agent in read["agent"]]
    assert agent_types == ["110152", "110153", "IRCP"]  # BALP Read: client, server, the recipient agency
    assert read["agent"][2]["who"] == {"reference": f"Organization/{shared.social}"}
    roles = {entity["role"]["code"]: entity["what"] for entity in read["entity"] if "role" in entity}
    assert roles == {"1": {"reference": f"Patient/{shared.child}"}, "4": {"reference": f"Task/{shared.concern['id']}"}}
    creates = [event for event in events if event["action"] == "C"]
    assert creates
    assert all(event["subtype"][0]["code"] == "create" for event in creates)
    single = fhir(world.http.get(f"/fhir/R4/AuditEvent/{read['id']}", headers=world.auditor()))
    assert single == read
    fhir(world.http.get(f"/fhir/R4/AuditEvent/{read['id']}", headers=world.headers(shared.social)), 403)
