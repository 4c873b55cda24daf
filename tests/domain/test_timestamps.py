"""Every timestamp a caller can send: a time whose UTC form overflows is a clear 422, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support import Domain, World, in_days

# Both are valid RFC 3339, and both lie outside year 1–9999 once turned into UTC.
OVERFLOWING = ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59")

# (operation id, where, field) for every timestamp input; the test below proves it is all of them.
TIMESTAMP_INPUTS = {
    ("concerns-create", "body", "observed_at"),
    ("concerns-list", "query", "updated_since"),
    ("assessments-create", "body", "assessed_at"),
    ("consents-create", "body", "valid_from"),
    ("consents-create", "body", "valid_until"),
    ("access-log-list", "query", "since"),
    ("access-log-list", "query", "until"),
    ("plans-create", "body", "next_review_at"),
    ("plans-add-review", "body", "held_at"),
    ("plans-add-review", "body", "next_review_at"),
    ("concerns-decide", "body", "decided_at"),
    ("children-chronology", "query", "since"),
    ("children-chronology", "query", "until"),
}


def _is_timestamp(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(option.get("format") == "date-time" for option in options)


def _body_fields(spec: dict[str, Any], schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """Timestamp properties of a body schema, nested objects included."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        schema, seen = spec["components"]["schemas"][name], seen | {name}
    for option in schema.get("anyOf", []):
        yield from _body_fields(spec, option, seen)
    for prop, value in schema.get("properties", {}).items():
        if _is_timestamp(value):
            yield prop
        yield from _body_fields(spec, value, seen)
    if "items" in schema:
        yield from _body_fields(spec, schema["items"], seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _body_fields(spec, schema["additionalProperties"], seen)


def timestamp_inputs_in_spec(spec: dict[str, Any]) -> set[tuple[str, str, str]]:
    found = set()
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if _is_timestamp(parameter.get("schema", {})):
                    found.add((operation["operationId"], parameter["in"], parameter["name"]))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                for name in _body_fields(spec, content.get("schema", {})):
                    found.add((operation["operationId"], "body", name))
    return found


def test_the_table_names_every_timestamp_input_of_the_api(app: FastAPI) -> None:
    assert timestamp_inputs_in_spec(app.openapi()) == TIMESTAMP_INPUTS


def test_a_timestamp_outside_the_utc_range_is_422_everywhere(client: TestClient, world: World, domain: Domain) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    child = domain.child(school)
    report = domain.concern(school, child, report_to_agency_id=social)["id"]
    bodies: dict[str, dict[str, Any]] = {
        "concerns-decide": {"decision": "not_opened"},
        "concerns-create": {"child_id": child, "areas": ["safe"], "description": "Orolig.", "urgency": "routine"},
        "assessments-create": {"child_id": child, "perspective": "professional", "areas": {"safe": {"rating": 3}}},
        "consents-create": {
            "child_id": child,
            "granted_by": [{"role": "guardian", "name": "Vårdnadshavare"}],
            "agency_ids": [school, social],
            "record_types": ["concerns"],
            "purpose": "Samordnat stöd.",
            "valid_until": in_days(30),
        },
        "plans-create": {"child_id": child, "kind": "child_plan", "next_review_at": in_days(30)},
        "plans-add-review": {"held_at": in_days(0), "progress": [], "next_review_at": in_days(60)},
    }
    plan = client.post("/api/v1/plans", json=bodies["plans-create"], headers=world.headers(school)).json()["id"]
    paths = {
        "plans-create": "/api/v1/plans",
        "plans-add-review": f"/api/v1/plans/{plan}/reviews",
        "concerns-create": "/api/v1/concerns",
        "assessments-create": "/api/v1/assessments",
        "consents-create": "/api/v1/consents",
        "concerns-list": "/api/v1/concerns",
        "access-log-list": "/api/v1/access-log",
        "concerns-decide": f"/api/v1/concerns/{report}/decision",
        "children-chronology": f"/api/v1/children/{child}/chronology",
    }
    answers = {}
    for operation, where, field in sorted(TIMESTAMP_INPUTS):
        headers = world.auditor() if operation.startswith("access-log") else world.headers(school)
        if operation == "concerns-decide":
            headers = world.headers(social)
        for value in OVERFLOWING:
            if where == "body":
                response = client.post(paths[operation], json={**bodies[operation], field: value}, headers=headers)
            else:
                response = client.get(paths[operation], params={field: value}, headers=headers)
            answers[(operation, field, value)] = response.status_code
            assert response.status_code == 422, (operation, field, value, response.text)
            errors = response.json()["errors"]
            assert [error["loc"][-1] for error in errors] == [field], errors
            assert "range of UTC timestamps" in errors[0]["msg"]
    assert set(answers.values()) == {422}


def test_a_consent_period_decades_long_is_refused(client: TestClient, world: World, domain: Domain) -> None:
    school, social = world.agency("school"), world.agency("social_services")
    child = domain.child(school)

    def record(valid_until: str) -> int:
        body = {
            "child_id": child,
            "granted_by": [{"role": "guardian", "name": "Vårdnadshavare"}],
            "agency_ids": [school, social],
            "record_types": ["concerns"],
            "purpose": "Samordnat stöd.",
            "valid_until": valid_until,
        }
        response = client.post("/api/v1/consents", json=body, headers=world.headers(school))
        if response.status_code == 422:
            assert response.json()["errors"][0]["loc"] == ["body", "valid_until"]
        return response.status_code

    assert record("9999-12-31T23:59:59Z") == 422
    assert record(in_days(365.25 * 10 + 2)) == 422  # beyond SAMHANDLING_CONSENT_MAX_YEARS (10)
    assert record(in_days(365 * 9)) == 201
