"""The canonical form is what the README says: an auditor's stdlib script re-checks the chain."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from app.audit.chain import HASHED_FIELDS, canonical_bytes, canonical_values, entry_hash
from tests.support import World


def stdlib_canonical(entry: dict) -> bytes:
    return json.dumps([entry[name] for name in HASHED_FIELDS], separators=(",", ":"), ensure_ascii=False).encode()


def test_canonical_form_matches_the_documented_stdlib_recipe() -> None:
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
    }
    as_api_shows_it = entry | {"at": "2026-11-22T08:30:00.000000Z", "child_id": str(uuid.UUID(int=9))}
    assert canonical_bytes(canonical_values(entry)) == stdlib_canonical(as_api_shows_it)
    assert entry_hash(entry) == hashlib.sha256(stdlib_canonical(as_api_shows_it)).hexdigest()


def auditor_check(entries: list[dict]) -> int | None:
    """The README's recipe, with nothing but the standard library: first broken seq or None."""
    previous = "0" * 64
    for expected_seq, entry in enumerate(entries, start=1):
        values = [entry[name] for name in HASHED_FIELDS]
        digest = hashlib.sha256(json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
        if entry["seq"] != expected_seq or entry["prev_hash"] != previous or entry["hash"] != digest:
            return expected_seq
        previous = entry["hash"]
    return None


def test_an_outside_auditor_can_verify_the_api_output(client: TestClient, world: World) -> None:
    school = world.agency("school")
    client.get("/api/v1/agencies", headers=world.headers(school))  # a denial
    client.get("/api/v1/agencies", headers=world.admin())
    entries: list[dict] = []
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
