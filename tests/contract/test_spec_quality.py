"""The committed spec is something integrators can build from: valid, complete, consistent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from app.enums import EventType
from tests.events import conftest as webhook_fixtures
from tests.events.conftest import Receiver, WorkerProcess
from tests.support import Domain, World

SPEC = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())
METHODS = ("get", "put", "post", "patch", "delete")
OPERATIONS = [
    (method, path, operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if method in METHODS
]
PROBLEM = "application/problem+json"


def ids(value: Any) -> str:
    return f"{value[0].upper()} {value[1]}" if isinstance(value, tuple) else str(value)


def test_the_spec_validates() -> None:
    validate(SPEC)


def test_tags_are_described_and_the_model_is_explained() -> None:
    assert all(tag.get("description") for tag in SPEC["tags"])
    for words in ("consent", "access log", "404", "problem+json"):
        assert words in SPEC["info"]["description"]


@pytest.mark.parametrize("operation", OPERATIONS, ids=ids)
def test_every_operation_is_named_described_and_tagged(operation: tuple[str, str, dict[str, Any]]) -> None:
    _method, _path, spec = operation
    (tag,) = spec["tags"]
    assert spec["operationId"].startswith(f"{tag}-")
    assert spec["summary"]
    assert spec["description"]


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op[1].startswith("/api/v1")], ids=ids)
def test_every_api_operation_lists_its_scopes_and_problems(operation: tuple[str, str, dict[str, Any]]) -> None:
    _method, _path, spec = operation
    (requirement,) = spec["security"]
    assert requirement["oauth2"], "each operation names the scope it needs"
    responses = spec["responses"]
    for status in ("401", "403", "422", "429", "503"):
        assert PROBLEM in responses[status]["content"], status
    errors = [status for status in responses if status.startswith(("4", "5"))]
    assert all(PROBLEM in responses[status]["content"] for status in errors)


@pytest.mark.parametrize("operation", OPERATIONS, ids=ids)
def test_every_response_declares_x_request_id(operation: tuple[str, str, dict[str, Any]]) -> None:
    for response in operation[2]["responses"].values():
        assert "X-Request-ID" in response["headers"]


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if "requestBody" in op[2]], ids=ids)
def test_every_request_body_has_an_example(operation: tuple[str, str, dict[str, Any]]) -> None:
    for media in operation[2]["requestBody"]["content"].values():
        assert media.get("example"), "an example for every request body"


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if "201" in op[2]["responses"]], ids=ids)
def test_creates_declare_location_and_link_to_the_new_record(operation: tuple[str, str, dict[str, Any]]) -> None:
    created = operation[2]["responses"]["201"]
    assert "Location" in created["headers"]
    assert created.get("links"), "create → read links let generated clients and fuzzers follow"


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op[0] == "patch"], ids=ids)
def test_patch_documents_if_match_and_its_preconditions(operation: tuple[str, str, dict[str, Any]]) -> None:
    patch = operation[2]
    header = [p for p in patch["parameters"] if p["in"] == "header" and p["name"] == "If-Match"]
    assert header
    assert header[0].get("required") is not True  # optional in the spec; 428 without it
    assert {"412", "428", "409"} <= set(patch["responses"])


def test_the_oauth2_scheme_lists_every_scope() -> None:
    scheme = SPEC["components"]["securitySchemes"]["oauth2"]
    scopes = scheme["flows"]["clientCredentials"]["scopes"]
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert set(scopes) == {
        *(f"{area}:{mode}" for area in ("children", "concerns", "consents", "assessments", "teams", "plans")
          for mode in ("read", "write")),
        "statistics:read", "audit:read", "events:read", "events:manage", "admin",
    }  # fmt: skip


def test_every_conflict_names_its_problem_types() -> None:
    """A 409 is never anonymous: each operation that can conflict lists the problem type of each
    condition (one `Conflict` subclass each) with an example, so integrators can tell them apart."""
    declared = {
        operation["operationId"]: set(operation["responses"]["409"]["content"][PROBLEM]["examples"])
        for _method, _path, operation in OPERATIONS
        if "409" in operation["responses"]
    }
    assert declared["teams-add-member"] == {"team-closed", "member-needs-consent", "team-role-taken"}
    assert declared["consents-confirm"] == {"consent-already-confirmed", "consent-already-withdrawn", "consent-expired"}
    for operation_id, slugs in declared.items():
        assert slugs, operation_id
        assert "conflict" not in slugs, operation_id


def test_each_conflict_condition_has_its_own_problem_type() -> None:
    from app.errors import Conflict

    def subclasses(cls: type[Conflict]) -> list[type[Conflict]]:
        return [sub for direct in cls.__subclasses__() for sub in (direct, *subclasses(direct))]

    conditions = subclasses(Conflict)
    assert len(conditions) >= 12
    slugs = [condition.slug for condition in conditions]
    assert len(set(slugs)) == len(slugs)
    assert "conflict" not in slugs
    assert all(condition.status == 409 and condition.__doc__ for condition in conditions)


@pytest.mark.parametrize("operation", OPERATIONS, ids=ids)
def test_every_operation_states_its_security_public_ones_as_none(operation: tuple[str, str, dict[str, Any]]) -> None:
    _method, path, spec = operation
    assert "security" in spec  # Redocly's security-defined: `[]` says "no token" outright
    if not path.startswith("/api/"):
        assert spec["security"] == [], "public operations and the token endpoint need no credentials"


def test_the_spec_names_its_server() -> None:
    assert SPEC["servers"] == [{"url": "/", "description": "The server this document is served from."}]


def test_the_api_version_is_the_package_version() -> None:
    from importlib.metadata import version

    import app

    assert SPEC["info"]["version"] == app.__version__ == version("samhandling")
    assert f"## {app.__version__}" in (Path(__file__).resolve().parents[2] / "CHANGELOG.md").read_text()


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op[0] == "get"], ids=ids)
def test_gets_with_an_etag_document_if_none_match_and_304(operation: tuple[str, str, dict[str, Any]]) -> None:
    spec = operation[2]
    if "ETag" not in spec["responses"]["200"].get("headers", {}):
        return
    assert any(p["name"] == "If-None-Match" and p["in"] == "header" for p in spec["parameters"])
    assert "304" in spec["responses"]


def test_lists_the_server_refuses_with_duplicates_say_unique_items() -> None:
    schemas = SPEC["components"]["schemas"]
    for model, field in [
        ("ConcernCreate", "areas"),
        ("ConsentCreate", "agency_ids"),
        ("ConsentCreate", "record_types"),
        ("SubscriptionCreate", "event_types"),
    ]:
        assert schemas[model]["properties"][field]["uniqueItems"] is True, (model, field)
    assert schemas["CompassAreas"]["minProperties"] == 1
    assert schemas["AreaAssessment"]["minProperties"] == 1


# A real receiver and real workers (tests/events), for a payload as it is delivered.
receiver = webhook_fixtures.receiver
workers = webhook_fixtures.workers


def _webhook_payload_schema(event_type: str) -> dict[str, Any]:
    body = SPEC["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return {**body, "components": SPEC["components"]}  # so that its `#/components/...` refs resolve


def test_every_event_type_is_a_webhook_with_the_standard_webhooks_headers() -> None:
    assert set(SPEC["webhooks"]) == {event_type.value for event_type in EventType}
    for event_type, item in SPEC["webhooks"].items():
        operation = item["post"]
        headers = {parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}, event_type
        Draft202012Validator.check_schema(_webhook_payload_schema(event_type))


def test_a_delivered_payload_matches_its_webhook_schema_and_no_other(
    client: TestClient,
    world: World,
    domain: Domain,
    receiver: Receiver,
    workers: Callable[[], WorkerProcess],
) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    response = client.post(
        "/api/v1/subscriptions",
        json={"url": receiver.url, "event_types": ["concern.received", "consent.recorded"]},
        headers=world.headers(social),
    )
    assert response.status_code == 201, response.text
    child = domain.child(school)
    domain.concern(school, child, report_to_agency_id=social, urgency="immediate")
    domain.consent(school, child, [school, social])
    workers()
    receiver.wait_for(lambda r: {item.event["type"] for item in r.successes()} >= {"concern.received"})
    delivered = {item.event["type"]: item.event for item in receiver.successes()}
    for event_type, payload in delivered.items():
        Draft202012Validator(_webhook_payload_schema(event_type)).validate(payload)
        other = next(value for value in SPEC["webhooks"] if value != event_type)
        assert not Draft202012Validator(_webhook_payload_schema(other)).is_valid(payload)
