"""Why a record was disclosed (access_basis, consent_id), the coded Purpose-Of-Use, strict filters.

The basis is decided by the access rule in the record's own query and hashed with the entry;
the chain verifies across entries with and without it, also with the README's stdlib script.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.support import Domain, World

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_check() -> Callable[[list[dict[str, Any]]], int | None]:
    """The README's standard-library chain check, executed as printed there."""
    section = README.read_text(encoding="utf-8").split("### Checking the chain yourself", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[:1]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the documented script itself
    check: Callable[[list[dict[str, Any]]], int | None] = namespace["first_broken"]
    return check


def whole_log(client: TestClient, world: World, **filters: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "200", **filters} | ({"cursor": cursor} if cursor else {})
        response = client.get("/api/v1/access-log", params=params, headers=world.auditor())
        assert response.status_code == 200, response.text
        entries += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if not cursor:
            return entries


def basis_of(world: World, request_id: str) -> list[tuple[str | None, str | None]]:
    rows = world.sql("SELECT access_basis, consent_id FROM access_log WHERE request_id = :r ORDER BY id", r=request_id)
    return [(row.access_basis, row.consent_id) for row in rows]


def test_each_basis_is_recorded_where_the_rule_decides_and_the_chain_verifies(
    client: TestClient, world: World, domain: Domain
) -> None:
    school, social, health = world.agency("school"), world.agency("social_services"), world.agency("health_care")
    child = domain.child(school)
    own = domain.concern(school, child)
    reported = domain.concern(school, child, report_to_agency_id=social)
    consent = domain.shared_consent(school, child, [school, health], ("concerns", "teams"))
    team = client.post("/api/v1/teams", json={"child_id": child}, headers=world.headers(school)).json()
    member = {"agency_id": health, "role": "member", "person_name": "Sara Sköterska"}
    assert client.post(f"/api/v1/teams/{team['id']}/members", json=member, headers=world.headers(school)).is_success

    def read(agency: str, path: str, request_id: str, status: int = 200) -> None:
        response = client.get(path, headers={**world.headers(agency), "X-Request-ID": request_id})
        assert response.status_code == status, response.text

    read(school, f"/api/v1/concerns/{own['id']}", "own")
    read(social, f"/api/v1/concerns/{reported['id']}", "reported")
    read(health, f"/api/v1/concerns/{own['id']}", "by-consent")
    read(health, f"/api/v1/teams/{team['id']}", "as-member")
    read(school, f"/api/v1/teams/{team['id']}", "own-team")
    read(health, f"/api/v1/consents/{consent['id']}", "named")
    read(school, f"/api/v1/consents/{consent['id']}", "recorder")
    read(social, f"/api/v1/concerns/{own['id']}", "denied", 404)
    read(health, f"/api/v1/concerns?child_id={child}", "list")
    read(health, "/api/v1/agencies", "no-record", 403)

    assert basis_of(world, "own") == [("own", None)]
    assert basis_of(world, "reported") == [("reported_to", None)]
    assert basis_of(world, "by-consent") == [("consent", consent["id"])]
    assert basis_of(world, "as-member") == [("team", consent["id"])]
    assert basis_of(world, "own-team") == [("own", None)]
    assert basis_of(world, "named") == [("named", None)]
    assert basis_of(world, "recorder") == [("own", None)]
    assert basis_of(world, "denied") == [(None, None)]  # nothing disclosed, nothing to justify
    assert basis_of(world, "list") == [("consent", consent["id"])]  # one entry for the child
    assert basis_of(world, "no-record") == [(None, None)]

    entries = whole_log(client, world)
    by_request = {entry["request_id"]: entry for entry in entries}
    assert (by_request["by-consent"]["access_basis"], by_request["by-consent"]["consent_id"]) == (
        "consent",
        consent["id"],
    )
    assert readme_check()(entries) is None  # old-form entries (no basis) and new ones, one chain
    tampered = [dict(entry) for entry in entries]
    index = next(i for i, entry in enumerate(tampered) if entry["request_id"] == "by-consent")
    tampered[index]["access_basis"] = "own"  # the basis is hashed: claiming another one breaks the chain
    assert readme_check()(tampered) == index + 1
    verification = client.get("/api/v1/access-log/verify", headers=world.auditor()).json()
    assert verification["valid"] is True, verification


def test_purpose_of_use_takes_codes_only(client: TestClient, world: World) -> None:
    school = world.agency("school")
    headers = world.headers(school)
    for code in ("care", "investigation", "coordination", "follow_up", "audit", "legal"):
        response = client.get("/api/v1/concerns", headers={**headers, "Purpose-Of-Use": code, "X-Request-ID": code})
        assert response.status_code == 200, response.text
        assert [
            row.purpose_of_use
            for row in world.sql("SELECT purpose_of_use FROM access_log WHERE request_id = :r", r=code)
        ] == [code]
    for bad in ("Care", "samordning", "", "care, audit", "x" * 300):
        response = client.get("/api/v1/concerns", headers={**headers, "Purpose-Of-Use": bad})
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["loc"] == ["header", "Purpose-Of-Use"]
    # 401 and 403 still come first.
    assert client.get("/api/v1/concerns", headers={"Purpose-Of-Use": "nonsense"}).status_code == 401
    assert client.get("/api/v1/access-log", headers={**headers, "Purpose-Of-Use": "nonsense"}).status_code == 403
    without = client.get("/api/v1/concerns", headers=headers)
    assert without.status_code == 200  # optional unless the setting requires it


@pytest.fixture
def purpose_required(settings: Settings) -> FastAPI:
    return create_app(settings.model_copy(update={"require_purpose_of_use": True}))


def test_the_requirement_setting_makes_reads_of_child_records_declare_a_purpose(
    purpose_required: FastAPI, settings: Settings, domain: Domain
) -> None:
    with TestClient(purpose_required, raise_server_exceptions=False) as strict:
        world = World(settings, strict)
        school = world.agency("school")
        headers = world.headers(school)
        child = Domain(world).child(school)  # a write: no purpose needed
        concern = Domain(world).concern(school, child)
        for path in (f"/api/v1/concerns/{concern['id']}", "/api/v1/concerns", f"/api/v1/children/{child}"):
            refused = strict.get(path, headers=headers)
            assert refused.status_code == 422, path
            assert refused.json()["errors"][0]["loc"] == ["header", "Purpose-Of-Use"]
            assert strict.get(path, headers={**headers, "Purpose-Of-Use": "care"}).status_code == 200
        # Not a read of child records: the log, the agencies.
        assert strict.get("/api/v1/access-log", headers=world.auditor()).status_code == 200
        assert strict.get("/api/v1/agencies", headers=world.admin()).status_code == 200
        denied = world.sql("SELECT status_code FROM access_log WHERE status_code = 422 AND method = 'GET'")
        assert len(denied) == 3  # every refusal is logged


def test_unknown_filters_are_422_and_the_new_filters_filter(client: TestClient, world: World, domain: Domain) -> None:
    school, health = world.agency("school"), world.agency("health_care")
    child = domain.child(school)
    concern = domain.concern(school, child)
    domain.shared_consent(school, child, [school, health])
    client.get(f"/api/v1/concerns/{concern['id']}", headers={**world.headers(health), "Purpose-Of-Use": "care"})
    client.get(f"/api/v1/concerns/{concern['id']}", headers=world.headers(school))
    for params in ({"child": child}, {"limit": "5", "outcomes": "denied"}, {"access_basis": "friendship"}):
        response = client.get("/api/v1/access-log", params=params, headers=world.auditor())
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
    unknown = client.get("/api/v1/access-log", params={"child": child}, headers=world.auditor()).json()
    assert unknown["errors"] == [{"loc": ["query", "child"], "msg": "unknown query parameter"}]

    def seqs(**filters: str) -> set[int]:
        return {entry["seq"] for entry in whole_log(client, world, **filters)}

    everything = whole_log(client, world)
    by_consent = [e["seq"] for e in everything if e["access_basis"] == "consent"]
    assert len(by_consent) == 1
    assert seqs(access_basis="consent") == set(by_consent)
    assert seqs(purpose_of_use="care") == set(by_consent)
    reads = {e["seq"] for e in everything if e["action"] == "concerns-get"}
    assert len(reads) == 2
    assert seqs(action="concerns-get") == reads
    assert seqs(resource_type="concern", resource_id=concern["id"]) == {
        e["seq"] for e in everything if e["resource_id"] == concern["id"]
    }
    assert seqs(action="concerns-get", access_basis="own") == reads - set(by_consent)
    first = client.get("/api/v1/access-log", params={"limit": 1, "action": "concerns-get"}, headers=world.auditor())
    mismatched = {"limit": 1, "action": "concerns-list", "cursor": first.json()["next_cursor"]}
    assert client.get("/api/v1/access-log", params=mismatched, headers=world.auditor()).status_code == 422
