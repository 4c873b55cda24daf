"""The family's signed extract, the proof endpoints, and the outside witness.

Every proof is checked with the independent RFC 9162 verifier of tests/audit/test_merkle.py
(hashlib and the RFC's recursive definitions, nothing from app/), and every signature with
nothing but the published JWKS.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from jose import jwk, jws

from app import cli
from app.audit.extract import signed_current_head
from app.audit.tree_heads import TreeHead, sign_tree_head
from app.audit.witness import WitnessFailed, token_for, witness
from app.main import create_app
from app.routers import log_review
from app.security.keys import KeyRing, SigningKey, generate_private_key_pem
from app.settings import Settings
from tests.audit.test_merkle import (
    _rewrite_from,
    insert_entries,
    ref_consistency_holds,
    ref_entry_leaf,
    ref_inclusion_holds,
    ref_mth,
    unguarded,
    unhex,
)
from tests.support import Domain, World


def published_claims(http: TestClient, signature: str, typ: str) -> dict[str, Any]:
    """Verify a compact JWS with the service's JWKS only, as the family or a witness would."""
    header = jws.get_unverified_header(signature)
    assert header["typ"] == typ
    (key,) = [key for key in http.get("/.well-known/jwks.json").json()["keys"] if key["kid"] == header["kid"]]
    claims: dict[str, Any] = orjson.loads(jws.verify(signature, jwk.construct(key), algorithms=[key["alg"]]))
    return claims


def chain_leaves(world: World) -> list[bytes]:
    return [ref_entry_leaf(row.hash) for row in world.sql("SELECT hash FROM access_log_chain ORDER BY seq")]


def test_the_familys_extract_verifies_with_the_jwks_and_its_proofs_independently(
    client: TestClient, world: World, domain: Domain
) -> None:
    school, health, social = world.agency("school"), world.agency("health_care"), world.agency("social_services")
    child = domain.child(school)
    concern = domain.concern(school, child)
    consent = domain.shared_consent(school, child, [school, health])
    client.get(f"/api/v1/concerns/{concern['id']}", headers={**world.headers(health), "Purpose-Of-Use": "care"})
    client.get(f"/api/v1/concerns/{concern['id']}", headers=world.headers(social))  # denied: in the report too
    response = client.get(
        f"/api/v1/children/{child}/access-report", headers={**world.auditor(), "Accept": "application/jose"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jose")
    extract = published_claims(client, response.text, "access-report+jws")
    assert extract["child_id"] == child

    as_json = client.get(f"/api/v1/children/{child}/access-report", params={"limit": 200}, headers=world.auditor())
    *listed, extract_request = as_json.json()["items"]  # the extract's own read came after it
    assert extract_request["action"] == "access-log-child-report"
    assert [(e["seq"], e["hash"]) for e in extract["entries"]] == [(e["seq"], e["hash"]) for e in listed]
    by_health = [e for e in extract["entries"] if e["agency_id"] == health and e["outcome"] == "allowed"]
    assert [(e["access_basis"], e["purpose_of_use"], e["action"]) for e in by_health] == [
        ("named", None, "consents-confirm"),  # it confirmed the consent that names it
        ("consent", "care", "concerns-get"),
    ]
    assert by_health[0]["agency_name"] == f"health_care {health}"
    assert {e["outcome"] for e in extract["entries"] if e["agency_id"] == social} == {"denied"}
    assert consent["id"] not in json.dumps(extract)  # the extract names bases, not other records

    head = extract["tree_head"]
    signed = published_claims(client, head["signature"], "tree-head+jws")
    assert (signed["tree_size"], signed["root_hash"]) == (head["tree_size"], head["root_hash"])
    leaves = chain_leaves(world)
    root = bytes.fromhex(head["root_hash"])
    assert ref_mth(leaves[: head["tree_size"]]) == root
    for item in extract["entries"]:
        leaf = ref_entry_leaf(item["hash"])  # from the extract alone: its hash, its seq
        assert ref_inclusion_holds(leaf, item["seq"] - 1, head["tree_size"], unhex(item["inclusion_proof"]), root)
        other = ref_entry_leaf("ab" * 32)
        assert not ref_inclusion_holds(other, item["seq"] - 1, head["tree_size"], unhex(item["inclusion_proof"]), root)
    tampered = response.text.split(".")
    tampered[1] = tampered[1][:-4] + ("AAAA" if not tampered[1].endswith("AAAA") else "BBBB")
    with pytest.raises(Exception, match="Signature verification failed"):
        published_claims(client, ".".join(tampered), "access-report+jws")


def test_proof_endpoints_give_rfc_9162_proofs_for_random_sizes(
    client: TestClient, world: World, settings: Settings
) -> None:
    rng = random.Random(22)
    insert_entries(settings, rng.randint(1500, 2500))
    response = client.get("/api/v1/access-log/tree-head", headers=world.auditor())
    assert response.status_code == 200, response.text
    head = response.json()
    signed = published_claims(client, head["signature"], "tree-head+jws")
    assert signed == {"tree_size": head["tree_size"], "root_hash": head["root_hash"], "timestamp": head["timestamp"]}
    leaves = chain_leaves(world)
    size = head["tree_size"]
    assert ref_mth(leaves[:size]).hex() == head["root_hash"]
    for _ in range(8):
        tree_size = rng.randint(1, size)
        seq = rng.randint(1, tree_size)
        params = {"seq": seq, "tree_size": tree_size}
        proof = client.get("/api/v1/access-log/proofs/inclusion", params=params, headers=world.auditor()).json()
        root = ref_mth(leaves[:tree_size])
        assert proof["leaf_hash"] == leaves[seq - 1].hex()
        assert ref_inclusion_holds(leaves[seq - 1], seq - 1, tree_size, unhex(proof["path"]), root)
        wrong_leaf = leaves[seq % tree_size] if tree_size > 1 else ref_entry_leaf("cd" * 32)
        assert not ref_inclusion_holds(wrong_leaf, seq - 1, tree_size, unhex(proof["path"]), root)
        # A proof for one size says nothing about the tree of another (whose signed root differs).
        other_size = tree_size - 1 if tree_size > seq else tree_size + 1
        other_root = ref_mth(leaves[:other_size])
        assert not ref_inclusion_holds(leaves[seq - 1], seq - 1, other_size, unhex(proof["path"]), other_root)
        first = rng.randint(1, tree_size)
        params = {"first": first, "second": tree_size}
        proof = client.get("/api/v1/access-log/proofs/consistency", params=params, headers=world.auditor()).json()
        old = ref_mth(leaves[:first])
        assert ref_consistency_holds(first, tree_size, old, root, unhex(proof["path"]))
        if first < tree_size:
            assert not ref_consistency_holds(first, tree_size, ref_mth(leaves[: first + 1]), root, unhex(proof["path"]))
    beyond = size + 10_000
    proof_queries: tuple[tuple[str, dict[str, int | str]], ...] = (
        ("/api/v1/access-log/proofs/inclusion", {"seq": 5, "tree_size": beyond}),
        ("/api/v1/access-log/proofs/inclusion", {"seq": 9, "tree_size": 8}),
        ("/api/v1/access-log/proofs/inclusion", {"seq": 0, "tree_size": 8}),
        ("/api/v1/access-log/proofs/inclusion", {"seq": "x", "tree_size": 8}),
        ("/api/v1/access-log/proofs/consistency", {"first": 9, "second": 8}),
        ("/api/v1/access-log/proofs/consistency", {"first": 1, "second": beyond}),
        ("/api/v1/access-log/proofs/consistency", {"first": 1, "second": 2, "third": 3}),
        ("/api/v1/access-log/tree-head", {"size": 1}),
    )
    for path, query in proof_queries:
        refused = client.get(path, params=query, headers=world.auditor())
        assert refused.status_code == 422, (path, query)
        assert refused.headers["content-type"].startswith("application/problem+json")
    school = world.agency("school")
    assert client.get("/api/v1/access-log/tree-head", headers=world.headers(school)).status_code == 403


def _witness_once(settings: Settings, path: Path) -> dict[str, Any]:
    """One witness step against a freshly started service (so nothing runs between steps)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        world = World(settings, http)
        world.auditor()
        credentials = world.client("operations", "auditor")
        # TestClient is an httpx2.Client: the same interface as the httpx.Client the witness takes.
        token = token_for(http, credentials.client_id, credentials.client_secret)  # type: ignore[arg-type]
        return witness(http, path, token)  # type: ignore[arg-type]


def test_the_witness_accepts_growth_and_detects_a_rewritten_log(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tree-head.json"
    first = _witness_once(settings, path)
    assert first["first_run"] is True
    held = json.loads(path.read_text())
    insert_entries(settings, 37, "grown")
    grown = _witness_once(settings, path)
    assert (grown["previous_tree_size"], grown["first_run"]) == (held["tree_size"], False)
    assert grown["tree_size"] > held["tree_size"] + 37
    held = json.loads(path.read_text())
    assert held["tree_size"] == grown["tree_size"]

    # The intruder rewrites entry 5 on, recomputing every hash and the whole stored tree.
    unguarded(settings, *_rewrite_from(settings, 5))
    with pytest.raises(WitnessFailed, match="rewritten"):
        _witness_once(settings, path)
    assert json.loads(path.read_text()) == held  # the witness keeps the head it trusts

    # The same through the command: exit 1, and the file untouched.
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        world = World(settings, http)
        world.auditor()
        credentials = world.client("operations", "auditor")
        monkeypatch.setenv("SAMHANDLING_WITNESS_CLIENT_ID", credentials.client_id)
        monkeypatch.setenv("SAMHANDLING_WITNESS_CLIENT_SECRET", credentials.client_secret)
        monkeypatch.setattr(httpx, "Client", lambda **_: nullcontext(http))  # the command talks to this app
        assert cli.main(["audit", "witness", "--tree-head", str(path), "--url", "http://testserver"]) == 1
    assert json.loads(path.read_text()) == held


def test_a_tree_head_signed_by_a_key_the_service_does_not_publish_fails(
    client: TestClient, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tree-head.json"
    world.auditor()
    credentials = world.client("operations", "auditor")
    # TestClient is an httpx2.Client: the same interface as the httpx.Client the witness takes.
    token = token_for(client, credentials.client_id, credentials.client_secret)  # type: ignore[arg-type]
    witness(client, path, token)  # type: ignore[arg-type]
    held = path.read_text()
    keys = KeyRing.load(world.settings.signing_key_file)
    stranger = KeyRing(current=SigningKey(generate_private_key_pem(keys.algorithm)))
    real: Callable[..., Any] = signed_current_head

    def forged(connection: Any, _keys: KeyRing) -> Any:
        honest = real(connection, keys)
        return sign_tree_head(stranger, TreeHead(honest.tree_size, honest.root_hash))

    monkeypatch.setattr(log_review, "signed_current_head", forged)
    with pytest.raises(WitnessFailed, match="does not publish"):
        witness(client, path, token)  # type: ignore[arg-type]
    assert path.read_text() == held
