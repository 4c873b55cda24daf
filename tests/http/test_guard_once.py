"""The guard's work is done once per request: the JSON body decoded once, the scopes checked once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.security.caller import Caller
from tests.support import Domain, World


def _count_body_decodes(monkeypatch: pytest.MonkeyPatch, marker: str) -> list[object]:
    """json.loads calls (Starlette's Request.json decodes with it) on a request body holding `marker`
    (a concern's body starts with its child_id; the answer, which the test client decodes, with its id)."""
    seen: list[object] = []
    original = json.loads

    def spy(text: Any, *args: Any, **kwargs: Any) -> Any:
        raw = text if isinstance(text, bytes) else str(text).encode()
        if raw.startswith(b'{"child_id"') and marker.encode() in raw:
            seen.append(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", spy)
    return seen


def test_a_json_body_is_decoded_once_by_the_guard_not_again_by_the_framework(
    world: World, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = world.agency("school")
    child = domain.child(school)
    decodes = _count_body_decodes(monkeypatch, "Decoded once")
    created = domain.concern(school, child, description="Decoded once.")
    assert created["description"] == "Decoded once."
    assert decodes == []  # the guard's orjson document was handed to FastAPI


def test_a_body_with_an_integer_beyond_64_bits_is_decoded_again_exactly(
    world: World, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = world.agency("school")
    child = domain.child(school)
    decodes = _count_body_decodes(monkeypatch, "12345678901234567890")
    response = world.http.post(
        "/api/v1/concerns",
        headers=world.headers(school),
        json={"child_id": child, "areas": ["safe"], "description": "x", "urgency": 12345678901234567890},
    )
    assert response.status_code == 422  # urgency is a code: refused the same either way
    assert len(decodes) == 1  # orjson would have read the number as a float; json reads it exactly
    created = domain.concern(school, child, description="Ref 12345678901234567890.")
    assert created["description"] == "Ref 12345678901234567890."


def test_the_scopes_are_checked_once_per_request(world: World, domain: Domain, monkeypatch: pytest.MonkeyPatch) -> None:
    school = world.agency("school")
    concern = domain.concern(school, domain.child(school))
    headers = world.headers(school)
    checks: list[frozenset[str]] = []
    original = Caller.has_scopes

    def counting(self: Caller, needed: frozenset[str]) -> bool:
        checks.append(needed)
        return original(self, needed)

    monkeypatch.setattr(Caller, "has_scopes", counting)
    assert world.http.get(f"/api/v1/concerns/{concern['id']}", headers=headers).status_code == 200
    assert checks == [frozenset({"concerns:read"})]
