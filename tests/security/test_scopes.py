"""The contract's role → scope table, through real tokens, for every agency kind."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from jose import jwt

from tests.support import World

PRACTITIONER = {
    "children:read", "children:write", "concerns:read", "concerns:write", "consents:read",
    "consents:write", "assessments:read", "assessments:write", "teams:read", "teams:write",
    "plans:read", "plans:write", "events:read", "events:manage",
}  # fmt: skip
POLICE = {
    "children:read", "children:write", "concerns:read", "concerns:write", "consents:read",
    "teams:read", "plans:read", "events:read", "events:manage",
}  # fmt: skip


def granted(world: World, kind: str, role: str) -> set[str]:
    token = world.token(world.client(world.agency(kind), role))
    return set(jwt.get_unverified_claims(token)["scope"].split())


@pytest.mark.parametrize("kind", ["preschool", "school", "social_services", "health_care"])
def test_practitioners_of_non_police_agencies_get_all_child_record_scopes(world: World, kind: str) -> None:
    scopes = granted(world, kind, "practitioner")
    assert scopes == PRACTITIONER
    assert "audit:read" not in scopes
    assert "admin" not in scopes


def test_police_practitioner_gets_no_assessments_and_cannot_write_consent_or_teams(world: World) -> None:
    scopes = granted(world, "police", "practitioner")
    assert scopes == POLICE
    assert not {"assessments:read", "assessments:write", "consents:write", "teams:write", "plans:write"} & scopes


@pytest.mark.parametrize("kind", ["school", "police", "social_services"])
def test_auditor_reads_only_the_log(world: World, kind: str) -> None:
    assert granted(world, kind, "auditor") == {"audit:read"}


@pytest.mark.parametrize("kind", ["school", "health_care"])
def test_admin_holds_only_admin(world: World, kind: str) -> None:
    assert granted(world, kind, "admin") == {"admin"}


def test_admin_token_cannot_reach_agency_data_of_practitioners(client: TestClient, world: World) -> None:
    school = world.agency("school")
    response = client.get("/api/v1/agencies", headers=world.headers(school, "practitioner"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
