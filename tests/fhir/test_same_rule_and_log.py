"""The FHIR view shows nothing the JSON API hides, and logs each read as its JSON twin does."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI

from app.fhir.router import BASE_PATH
from app.http.routing import flat_routes, is_audited
from tests.fhir.support import Records, entries, fhir, records
from tests.support import Domain, World

# What the access log says about a request, apart from its own identity (action, route, time).
COMPARED = (
    "client_id, agency_id, role, method, resource_type, resource_id, child_id, status_code, outcome, purpose_of_use"
)


@pytest.fixture
def shared(world: World, domain: Domain) -> Records:
    return records(world, domain)


def logged(world: World, request_id: str) -> list[tuple[Any, ...]]:
    return [
        tuple(row)
        for row in world.sql(f"SELECT {COMPARED} FROM access_log WHERE request_id = :r ORDER BY id", r=request_id)
    ]


def both(world: World, json_url: str, fhir_url: str, headers: dict[str, str]) -> tuple[int, int, list[Any], list[Any]]:
    json_id, fhir_id = str(uuid.uuid4()), str(uuid.uuid4())  # a UUID is always kept as the request id
    headers = {**headers, "Purpose-Of-Use": "care"}
    json_status = world.http.get(json_url, headers={**headers, "X-Request-ID": json_id}).status_code
    fhir_status = world.http.get(fhir_url, headers={**headers, "X-Request-ID": fhir_id}).status_code
    return json_status, fhir_status, logged(world, json_id), logged(world, fhir_id)


def twins(shared: Records) -> list[tuple[str, str, str]]:
    """(agency, JSON url, FHIR url) pairs reading the same thing."""
    child = shared.child
    return [
        ("social", f"/api/v1/concerns/{shared.concern['id']}", f"/fhir/R4/Task/{shared.concern['id']}"),
        ("social", f"/api/v1/concerns?child_id={child}", f"/fhir/R4/Task?patient={child}"),
        ("school", f"/api/v1/consents/{shared.consent['id']}", f"/fhir/R4/Consent/{shared.consent['id']}"),
        ("school", f"/api/v1/consents?child_id={child}", f"/fhir/R4/Consent?patient={child}"),
        ("social", f"/api/v1/teams/{shared.team['id']}", f"/fhir/R4/CareTeam/{shared.team['id']}"),
        ("social", f"/api/v1/teams?child_id={child}", f"/fhir/R4/CareTeam?subject=Patient/{child}"),
        (
            "social",
            f"/api/v1/assessments/{shared.assessment['id']}",
            f"/fhir/R4/QuestionnaireResponse/{shared.assessment['id']}",
        ),
        ("social", f"/api/v1/assessments?child_id={child}", f"/fhir/R4/QuestionnaireResponse?patient={child}"),
        ("school", f"/api/v1/children/{child}", f"/fhir/R4/Patient/{child}"),
    ]


def test_fhir_reads_log_what_their_json_twins_log(world: World, shared: Records) -> None:
    for agency, json_url, fhir_url in twins(shared):
        json_status, fhir_status, json_entries, fhir_entries = both(
            world, json_url, fhir_url, world.headers(getattr(shared, agency))
        )
        assert json_status == fhir_status == 200, (json_url, fhir_status)
        assert json_entries, json_url
        assert fhir_entries == json_entries, (json_url, json_entries, fhir_entries)


def test_hidden_records_are_404_in_both_and_logged_alike(world: World, shared: Records) -> None:
    """The health agency is named in no consent: it sees none of the school's records."""
    headers = world.headers(shared.health)
    for _agency, json_url, fhir_url in twins(shared):
        if "?" in json_url or "/children/" in json_url:
            continue
        json_status, fhir_status, json_entries, fhir_entries = both(world, json_url, fhir_url, headers)
        assert json_status == fhir_status == 404, (fhir_url, fhir_status)
        assert fhir_entries == json_entries, fhir_entries
        assert fhir_entries[0][8] == "denied", fhir_entries
        assert fhir_entries[0][6] is not None, "the denial is in the child's access report"


def test_hidden_records_are_absent_from_searches(world: World, shared: Records) -> None:
    headers = world.headers(shared.health)
    for resource_type in ("Task", "Consent", "CareTeam", "QuestionnaireResponse"):
        assert entries(fhir(world.http.get(f"/fhir/R4/{resource_type}?patient={shared.child}", headers=headers))) == []
        assert all(
            resource["subject" if "subject" in resource else "for" if "for" in resource else "patient"]
            != {"reference": f"Patient/{shared.child}"}
            for resource in entries(fhir(world.http.get(f"/fhir/R4/{resource_type}", headers=headers)))
        )


def test_a_hidden_record_answers_exactly_as_a_missing_one(world: World, shared: Records) -> None:
    headers = world.headers(shared.health)
    hidden = fhir(world.http.get(f"/fhir/R4/Task/{shared.concern['id']}", headers=headers), 404)
    missing = fhir(world.http.get(f"/fhir/R4/Task/{uuid.uuid4()}", headers=headers), 404)

    def scrubbed(outcome: dict[str, Any]) -> str:
        return re.sub(r"[0-9a-f-]{32,36}", "ID", repr(outcome))

    assert scrubbed(hidden) == scrubbed(missing)


def test_withdrawing_the_consent_hides_the_records_in_fhir_at_once(
    world: World, domain: Domain, shared: Records
) -> None:
    headers = world.headers(shared.social)
    fhir(world.http.get(f"/fhir/R4/QuestionnaireResponse/{shared.assessment['id']}", headers=headers))
    domain.withdraw(shared.school, shared.consent["id"])
    fhir(world.http.get(f"/fhir/R4/QuestionnaireResponse/{shared.assessment['id']}", headers=headers), 404)
    assert (
        entries(fhir(world.http.get(f"/fhir/R4/QuestionnaireResponse?patient={shared.child}", headers=headers))) == []
    )
    fhir(world.http.get(f"/fhir/R4/CareTeam/{shared.team['id']}", headers=headers), 404)
    # The mandatory report stays visible to the agency it was reported to, consent or not.
    fhir(world.http.get(f"/fhir/R4/Task/{shared.concern['id']}", headers=headers))


def test_a_consent_only_the_reader_confirmed_opens_nothing(world: World, domain: Domain, shared: Records) -> None:
    concern = domain.concern(shared.health, shared.child)
    domain.consent(shared.school, shared.child, [shared.school, shared.health])  # health has not confirmed
    headers = world.headers(shared.school)
    fhir(world.http.get(f"/fhir/R4/Task/{concern['id']}", headers=headers), 404)
    ids = {
        resource["id"]
        for resource in entries(fhir(world.http.get(f"/fhir/R4/Task?patient={shared.child}", headers=headers)))
    }
    assert concern["id"] not in ids
    assert shared.concern["id"] in ids


def test_scopes_are_the_json_twins(world: World, shared: Records) -> None:
    police = world.agency("police")
    outcome = fhir(
        world.http.get(f"/fhir/R4/QuestionnaireResponse?patient={shared.child}", headers=world.headers(police)), 403
    )
    assert "assessments:read" in outcome["issue"][0]["diagnostics"]
    fhir(world.http.get("/fhir/R4/AuditEvent", headers=world.headers(shared.school)), 403)
    fhir(world.http.get("/fhir/R4/Organization", headers=world.headers(shared.school)), 403)
    fhir(world.http.get(f"/fhir/R4/Task?patient={shared.child}"), 401)


def test_audit_event_search_logs_as_the_access_log_list(world: World, shared: Records) -> None:
    json_status, fhir_status, json_entries, fhir_entries = both(
        world,
        f"/api/v1/access-log?child_id={shared.child}",
        f"/fhir/R4/AuditEvent?patient={shared.child}",
        world.auditor(),
    )
    assert json_status == fhir_status == 200
    assert fhir_entries == json_entries


def test_organization_reads_log_as_agencies_get(world: World, shared: Records) -> None:
    json_status, fhir_status, json_entries, fhir_entries = both(
        world, f"/api/v1/agencies/{shared.school}", f"/fhir/R4/Organization/{shared.school}", world.admin()
    )
    assert json_status == fhir_status == 200
    assert fhir_entries == json_entries


def fhir_operations(app: FastAPI) -> list[str]:
    return [route.path for route in flat_routes(app.routes) if getattr(route, "path", "").startswith(BASE_PATH)]


@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "authenticated"])
def test_every_fhir_operation_writes_an_entry_except_metadata(app: FastAPI, world: World, with_token: bool) -> None:
    headers = world.headers(world.agency("school")) if with_token else {}
    paths = fhir_operations(app)
    assert len(paths) >= 15
    for path in paths:
        request_id = str(uuid.uuid4())
        response = world.http.get(
            re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path), headers={**headers, "X-Request-ID": request_id}
        )
        rows = world.sql("SELECT status_code, route FROM access_log WHERE request_id = :r", r=request_id)
        if path == f"{BASE_PATH}/metadata":
            assert response.status_code == 200
            assert rows == []
            continue
        assert rows, f"GET {path} ({response.status_code}) wrote no access-log entry"
        assert all(row.status_code == response.status_code and row.route == path for row in rows)
        fhir(response, response.status_code)


@pytest.mark.parametrize("path", ["/fhir/R4/Task", "/FHIR/R4/Task", "/fhir//R4/metadata", "/%66hir/R4/Task", "/fhir"])
def test_fhir_paths_are_audited_even_when_not_canonical(path: str) -> None:
    assert is_audited(path)


def test_the_capability_statement_alone_is_not_audited() -> None:
    assert not is_audited("/fhir/R4/metadata")


def test_a_personnummer_in_a_fhir_query_never_reaches_the_log(world: World) -> None:
    headers = {**world.headers(world.agency("school")), "X-Request-ID": str(uuid.uuid4())}
    fhir(world.http.get("/fhir/R4/Patient?identifier=201403011016", headers=headers), 422)
    assert "201403011016" not in repr(world.sql("SELECT * FROM access_log"))
