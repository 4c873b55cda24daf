"""The canonical form is what the README says: an auditor's stdlib script re-checks the chain."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.audit.chain import EXTENSION_FIELDS, HASHED_FIELDS, canonical_bytes, canonical_values, entry_hash
from tests.support import World


def stdlib_canonical(entry: dict[str, Any]) -> bytes:
    """The README's recipe: the 17 v1 fields, then the extension fields without trailing nulls."""
    extensions = [entry.get(name) for name in EXTENSION_FIELDS]
    while extensions and extensions[-1] is None:
        extensions.pop()
    values = [entry[name] for name in HASHED_FIELDS] + extensions
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()


def v1_canonical(entry: dict[str, Any]) -> bytes:
    """The form before any extension field existed."""
    return json.dumps([entry[name] for name in HASHED_FIELDS], separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("repeat_count", [None, 1, 2, 40_000])
def test_canonical_form_matches_the_documented_stdlib_recipe(repeat_count: int | None) -> None:
    entry = {
        "seq": 42,
        "at": datetime(2026, 11, 22, 8, 30, 0, tzinfo=UTC),
        "request_id": "req-1",
        "client_id": "cl_x",
        "agency_id": "socialtjänsten-örebro",
        "role": "practitioner",
        "action": "concerns-get",
        "resource_type": "concern",
        "resource_id": str(uuid.UUID(int=7)),
        "child_id": uuid.UUID(int=9),
        "method": "GET",
        "route": "/api/v1/concerns/{concern_id}",
        "status_code": 200,
        "outcome": "allowed",
        "jti": None,
        "purpose_of_use": 'Handläggning / "SIP" \\ möte',
        "prev_hash": "0" * 64,
        "repeat_count": repeat_count,
    }
    as_api_shows_it = entry | {"at": "2026-11-22T08:30:00.000000Z", "child_id": str(uuid.UUID(int=9))}
    assert canonical_bytes(canonical_values(entry)) == stdlib_canonical(as_api_shows_it)
    assert entry_hash(entry) == hashlib.sha256(stdlib_canonical(as_api_shows_it)).hexdigest()
    if repeat_count is None:  # an ordinary entry hashes exactly as before extensions existed
        assert entry_hash(entry) == hashlib.sha256(v1_canonical(as_api_shows_it)).hexdigest()
        assert entry_hash({name: value for name, value in entry.items() if name != "repeat_count"}) == entry_hash(entry)
    else:
        assert canonical_values(entry)[-1] == repeat_count


def auditor_check(entries: list[dict[str, Any]]) -> int | None:
    """The README's recipe, with nothing but the standard library: first broken seq or None."""
    previous = "0" * 64
    for expected_seq, entry in enumerate(entries, start=1):
        digest = hashlib.sha256(stdlib_canonical(entry)).hexdigest()
        if entry["seq"] != expected_seq or entry["prev_hash"] != previous or entry["hash"] != digest:
            return expected_seq
        previous = entry["hash"]
    return None


def test_an_outside_auditor_can_verify_the_api_output(client: TestClient, world: World) -> None:
    school = world.agency("school")
    client.get("/api/v1/agencies", headers=world.headers(school))  # a denial
    client.get("/api/v1/agencies", headers=world.admin())
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/access-log", params=params, headers=world.auditor()).json()
        entries += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(entries) >= 5
    assert auditor_check(entries) is None
    entries[2]["action"] = "something-else"
    assert auditor_check(entries) == 3
