"""The CapabilityStatement lists exactly what is served; bad input is a 4xx OperationOutcome."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
from fastapi import FastAPI

from app.fhir.router import BASE_PATH
from app.http.routing import flat_routes
from tests.fhir.support import fhir
from tests.support import World


def served(app: FastAPI) -> dict[str, set[str]]:
    """Interactions by resource type, from the app's routes."""
    interactions: dict[str, set[str]] = {}
    for route in flat_routes(app.routes):
        path = getattr(route, "path", "")
        if not path.startswith(BASE_PATH + "/") or path == f"{BASE_PATH}/metadata":
            continue
        assert route.methods == {"GET"}, path  # read-only
        parts = path.removeprefix(BASE_PATH + "/").split("/")
        interactions.setdefault(parts[0], set()).add("read" if len(parts) == 2 else "search-type")
    return interactions


def test_the_capability_statement_lists_exactly_the_routes(app: FastAPI, world: World) -> None:
    response = world.http.get("/fhir/R4/metadata")
    statement = fhir(response)
    assert statement["fhirVersion"] == "4.0.1"
    assert "application/fhir+json" in statement["format"]
    (rest,) = statement["rest"]
    listed = {resource["type"]: {i["code"] for i in resource["interaction"]} for resource in rest["resource"]}
    assert listed == served(app)
    assert set(listed) == {
        "Patient",
        "Organization",
        "Task",
        "Consent",
        "CareTeam",
        "CarePlan",
        "Goal",
        "QuestionnaireResponse",
        "AuditEvent",
    }
    assert rest["security"]["extension"][0]["extension"][0]["valueUri"].endswith("/oauth/token")


def test_every_listed_search_parameter_is_accepted_and_others_are_422(world: World) -> None:
    statement = world.http.get("/fhir/R4/metadata").json()
    headers = {**world.auditor(), **world.headers(world.agency("school"))}
    for resource in statement["rest"][0]["resource"]:
        for parameter in resource["searchParam"]:
            value = str(uuid.uuid4())
            response = world.http.get(
                f"/fhir/R4/{resource['type']}", params={parameter["name"]: value}, headers=headers
            )
            assert response.status_code in (200, 403), (resource["type"], parameter["name"], response.text)
            if response.status_code == 200:
                fhir(response)
        refused = world.http.get(f"/fhir/R4/{resource['type']}", params={"name": "x"}, headers=headers)
        assert refused.status_code in (403, 422), refused.text
        fhir(refused, refused.status_code)


@pytest.mark.parametrize(
    "query",
    [
        "patient=not-a-uuid",
        "patient=Group/6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10",
        "_count=0",
        "_count=201",
        "_count=ten",
        "_cursor=forged.cursor",
        "patinet=6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10",
        "patient=6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10&patient=6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a11",
        "patient=6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10&subject=Patient/6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10",
        "_summary=count",
        "patient=" + "x" * 5000,
    ],
)
def test_bad_search_input_is_a_422_operation_outcome(world: World, query: str) -> None:
    response = world.http.get(f"/fhir/R4/Task?{query}", headers=world.headers(world.agency("school")))
    outcome = fhir(response, 422)
    assert outcome["issue"][0]["code"] == "invalid"
    assert "Traceback" not in response.text


def test_bad_ids_and_unknown_types_are_4xx_operation_outcomes(world: World) -> None:
    headers = world.headers(world.agency("school"))
    assert fhir(world.http.get("/fhir/R4/Task/not-a-uuid", headers=headers), 422)["issue"][0]["code"] == "invalid"
    fhir(world.http.get("/fhir/R4/Task/bad%20id", headers=headers), 422)
    assert fhir(world.http.get("/fhir/R4/Patient?identifier=201403011016", headers=headers), 422)
    assert fhir(world.http.get("/fhir/R4/Patient", headers=headers), 422)
    assert (
        fhir(world.http.get("/fhir/R4/MedicationRequest?patient=x", headers=headers), 404)["issue"][0]["code"]
        == "not-found"
    )
    assert fhir(world.http.delete(f"/fhir/R4/Task/{uuid.uuid4()}", headers=headers), 405)
    fhir(world.http.get(f"/fhir/R4/AuditEvent/{uuid.uuid4()}", headers=world.auditor()), 422)
    fhir(world.http.get("/fhir/R4/AuditEvent/999999999", headers=world.auditor()), 404)


def test_only_fhir_json_is_served(world: World) -> None:
    headers = world.headers(world.agency("school"))
    fhir(world.http.get("/fhir/R4/Task?_format=xml", headers=headers), 406)
    fhir(world.http.get("/fhir/R4/Task", headers={**headers, "Accept": "application/fhir+xml"}), 406)
    fhir(world.http.get("/fhir/R4/metadata", headers={"Accept": "application/fhir+xml"}), 406)
    fhir(world.http.get("/fhir/R4/Task?_format=json", headers={**headers, "Accept": "application/fhir+json"}))


def test_the_pipelines_own_refusals_are_operation_outcomes_too(world: World) -> None:
    headers = world.headers(world.agency("school"))
    huge = world.http.request(
        "GET", "/fhir/R4/Task", headers=headers, content=b"x" * (world.settings.max_body_bytes + 1)
    )
    assert fhir(huge, 413)["issue"][0]["code"] == "too-costly"
    expired = world.http.get("/fhir/R4/Task", headers={"Authorization": "Bearer not.a.token"})
    assert fhir(expired, 401)["issue"][0]["code"] == "login"
    assert "invalid_token" in expired.headers["www-authenticate"]


ODD_VALUES = ["", "\x00", "Patient/", "Patient//", "a" * 300, "å", "1e5", "-1", "١٢", "Patient/../Task", "%", "*"]


def test_odd_values_in_any_parameter_of_any_type_are_never_a_500(world: World) -> None:
    statement = world.http.get("/fhir/R4/metadata").json()
    for role_headers in (world.headers(world.agency("school")), world.auditor(), world.admin()):
        for resource in statement["rest"][0]["resource"]:
            names = [parameter["name"] for parameter in resource["searchParam"]] + ["_count", "_cursor"]
            for name in names:
                for value in ODD_VALUES:
                    response = world.http.get(
                        f"/fhir/R4/{resource['type']}", params={name: value}, headers=role_headers
                    )
                    assert response.status_code < 500, (resource["type"], name, value, response.text)
                    fhir(response, response.status_code)
            for value in ODD_VALUES[1:]:
                response = world.http.get(f"/fhir/R4/{resource['type']}/{quote(value, safe='')}", headers=role_headers)
                assert response.status_code < 500, (resource["type"], value, response.text)
