"""Validating what the FHIR view returns, and a small world of records to read through it.

Every resource is parsed by `fhir.resources`' R4B models (the library's R4-line release: for the
types served here R4B is R4 4.0.1 — its changes lie in other resources), which check element
names, cardinalities, types and primitive formats. The library does not check required code
bindings, so `validate` also checks the codes of the R4 value sets that are *required* bindings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from httpx2 import Response  # what TestClient returns

from tests.support import Domain, World

FHIR_JSON = "application/fhir+json"

# Required bindings in R4, by resource type and path (lists are walked through).
REQUIRED_CODES: dict[str, dict[str, frozenset[str]]] = {
    "Task": {
        "status": frozenset(
            "draft requested received accepted rejected ready cancelled in-progress on-hold failed completed "
            "entered-in-error".split()
        ),
        "intent": frozenset(
            "unknown proposal plan order original-order reflex-order filler-order instance-order option".split()
        ),
        "priority": frozenset("routine urgent asap stat".split()),
    },
    "Consent": {
        "status": frozenset("draft proposed active rejected inactive entered-in-error".split()),
        "provision.type": frozenset({"deny", "permit"}),
    },
    "CareTeam": {"status": frozenset("proposed active suspended inactive entered-in-error".split())},
    "CarePlan": {
        "status": frozenset("draft active on-hold revoked completed entered-in-error unknown".split()),
        "intent": frozenset("proposal plan order option".split()),
        "activity.detail.status": frozenset(
            "not-started scheduled in-progress on-hold completed cancelled stopped unknown entered-in-error".split()
        ),
    },
    "Goal": {
        "lifecycleStatus": frozenset(
            "proposed planned accepted active on-hold completed cancelled entered-in-error rejected".split()
        )
    },
    "QuestionnaireResponse": {"status": frozenset("in-progress completed amended entered-in-error stopped".split())},
    "AuditEvent": {"action": frozenset("CRUDE"), "outcome": frozenset({"0", "4", "8", "12"})},
    "Patient": {"identifier.use": frozenset("usual official temp secondary old".split())},
    "Organization": {"identifier.use": frozenset("usual official temp secondary old".split())},
    "Bundle": {"type": frozenset({"searchset"}), "entry.search.mode": frozenset({"match", "include", "outcome"})},
    "OperationOutcome": {
        "issue.severity": frozenset("fatal error warning information".split()),
        "issue.code": frozenset(
            "invalid structure required value invariant security login unknown expired forbidden suppressed "
            "processing not-supported duplicate multiple-matches not-found deleted too-long code-invalid "
            "extension too-costly business-rule conflict transient lock-error no-store exception timeout "
            "incomplete throttled informational".split()
        ),
    },
    "CapabilityStatement": {
        "status": frozenset("draft active retired unknown".split()),
        "kind": frozenset("instance capability requirements".split()),
        "rest.resource.interaction.code": frozenset(
            "read vread update patch delete history-instance history-type create search-type".split()
        ),
        "rest.resource.searchParam.type": frozenset(
            "number date string token reference composite quantity uri special".split()
        ),
    },
}


def _values(node: Any, path: list[str]) -> list[Any]:
    if isinstance(node, list):
        return [value for item in node for value in _values(item, path)]
    if not path:
        return [node]
    if not isinstance(node, dict) or path[0] not in node:
        return []
    return _values(node[path[0]], path[1:])


def validate(resource: dict[str, Any]) -> Any:
    """The R4(B) model of the resource (raises when it is not valid FHIR), codes checked too."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for path, allowed in REQUIRED_CODES.get(resource["resourceType"], {}).items():
        for value in _values(resource, path.split(".")):
            assert value in allowed, f"{resource['resourceType']}.{path} = {value!r} is not in the R4 value set"
    if resource["resourceType"] == "Bundle":
        for entry in resource.get("entry", []):
            validate(entry["resource"])
    return model


def fhir(response: Response, status: int = 200) -> dict[str, Any]:
    """The FHIR JSON body of a response with this status, validated."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    validate(body)
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome", body
    return body


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle.get("entry", [])]


@dataclass
class Records:
    """A school and social services sharing one child's records by a confirmed consent; a health
    agency that shares nothing; one record of each kind, made through the JSON API."""

    school: str
    social: str
    health: str
    child: str
    concern: dict[str, Any]
    consent: dict[str, Any]
    team: dict[str, Any]
    member: dict[str, Any]
    assessment: dict[str, Any]


def records(world: World, domain: Domain) -> Records:
    school = world.agency("school", organisation_number="2120001231", school_unit_code="12345678")
    social = world.agency("social_services", hsa_id="SE2321000016-15CQ")
    health = world.agency("health_care")
    child = domain.child(school)
    concern = domain.concern(
        school, child, report_to_agency_id=social, areas=["safe", "healthy"], observed_at="2026-11-20T08:15:00+01:00"
    )
    consent = domain.shared_consent(school, child, [school, social], ("concerns", "assessments", "teams"))
    http = world.http
    team = http.post("/api/v1/teams", json={"child_id": child, "purpose": "SIP."}, headers=world.headers(school))
    assert team.status_code == 201, team.text
    member = http.post(
        f"/api/v1/teams/{team.json()['id']}/members",
        json={"agency_id": social, "role": "coordinator", "person_name": "Karin Berg", "person_title": "Socionom"},
        headers=world.headers(school),
    )
    assert member.status_code == 201, member.text
    assessment = http.post(
        "/api/v1/assessments",
        json={
            "child_id": child,
            "perspective": "professional",
            "areas": {"safe": {"rating": 2, "needs": "Otrygg."}, "included": {"strengths": "Vänner."}},
        },
        headers=world.headers(school),
    )
    assert assessment.status_code == 201, assessment.text
    return Records(school, social, health, child, concern, consent, team.json(), member.json(), assessment.json())
