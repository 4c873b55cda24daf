"""An outside witness of the log: it keeps one signed tree head and checks that the log only grows.

`samhandling audit witness --tree-head FILE` asks the service (over its API, as an auditor
client) for a new signed tree head, checks its signature against the service's published JWKS
— a head signed by a key the JWKS does not hold fails — and then the RFC 9162 consistency proof
from the size of the head in FILE to the new one. Only when both hold is FILE replaced by the
new head. The witness never sees an entry: two roots and a proof of O(log n) hashes are enough
to show that the log it saw before is a prefix of the log now. A log rewritten in the database
— even with every hash and node recomputed — has another root at the old size, and no proof
can bridge the two; the witness then exits 1 and keeps the head it had.

The first run has nothing to compare with: it stores the head it is given (trust on first use).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from jose import jwk, jws
from jose.exceptions import JOSEError

from app.audit.merkle import verify_consistency
from app.audit.tree_heads import TREE_HEAD_TYPE, payload

HEAD_FIELDS = ("tree_size", "root_hash", "timestamp", "kid", "signature")


class WitnessFailed(Exception):
    """The log did not only grow, or what the service sent is not its signed head."""


@dataclass(frozen=True)
class Head:
    tree_size: int
    root_hash: str
    timestamp: int
    kid: str
    signature: str

    def as_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HEAD_FIELDS}


def _claims(signature: str) -> tuple[dict[str, Any], bytes]:
    try:
        header = jws.get_unverified_header(signature)
        raw = jws.get_unverified_claims(signature)
        claims = orjson.loads(raw)
    except (JOSEError, orjson.JSONDecodeError) as error:
        raise WitnessFailed(f"not a signed tree head: {error}") from None
    if header.get("typ") != TREE_HEAD_TYPE or not isinstance(claims, dict):
        raise WitnessFailed(f"not a signed tree head (typ {header.get('typ')!r})")
    return {**claims, "kid": header.get("kid")}, raw


def _head(signature: str, claims: dict[str, Any], raw: bytes) -> Head:
    try:
        head = Head(
            int(claims["tree_size"]), str(claims["root_hash"]), int(claims["timestamp"]), claims["kid"], signature
        )
    except (KeyError, TypeError, ValueError):
        raise WitnessFailed("the tree head's payload is incomplete") from None
    if raw != payload(head.tree_size, head.root_hash, head.timestamp):
        raise WitnessFailed("the tree head's payload is not in canonical form")
    return head


def verified_head(jwks: dict[str, Any], signature: str) -> Head:
    """The head a compact JWS states, once it verifies with a key of the JWKS."""
    claims, raw = _claims(signature)
    published = [key for key in jwks.get("keys", []) if key.get("kid") == claims["kid"]]
    if not published:
        raise WitnessFailed(f"the tree head is signed by a key the service does not publish (kid {claims['kid']!r})")
    key = published[0]
    try:
        jws.verify(signature, jwk.construct(key), algorithms=[key["alg"]])
    except (JOSEError, KeyError):
        raise WitnessFailed("the tree head's signature does not verify") from None
    return _head(signature, claims, raw)


def load_head(path: Path) -> Head | None:
    """The head the witness stored (it verified it when it stored it), or None on a first run."""
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        claims, raw = _claims(stored["signature"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise WitnessFailed(f"{path} does not hold a tree head: {error}") from None
    head = _head(stored["signature"], claims, raw)
    if head.as_json() != {name: stored.get(name) for name in HEAD_FIELDS}:
        raise WitnessFailed(f"{path}: the stored fields differ from the signed head")
    return head


def save_head(path: Path, head: Head) -> None:
    """Replace the file in one step: a crash leaves the old head or the new, never half of one."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(head.as_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _get(http: httpx.Client, url: str, token: str, **params: int) -> dict[str, Any]:
    response = http.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise WitnessFailed(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def token_for(http: httpx.Client, client_id: str, client_secret: str) -> str:
    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "audit:read"},
        auth=(client_id, client_secret),
    )
    if response.status_code != 200:
        raise WitnessFailed(f"the token endpoint answered {response.status_code}: {response.text[:300]}")
    return str(response.json()["access_token"])


def witness(http: httpx.Client, path: Path, token: str) -> dict[str, Any]:
    """One witness step; returns a summary, or raises WitnessFailed (and leaves `path` as it was)."""
    old = load_head(path)
    jwks = http.get("/.well-known/jwks.json").json()
    new = verified_head(jwks, _get(http, "/api/v1/access-log/tree-head", token)["signature"])
    if old is not None:
        _check_growth(http, token, old, new)
    save_head(path, new)
    return {
        "previous_tree_size": old.tree_size if old else None,
        "tree_size": new.tree_size,
        "root_hash": new.root_hash,
        "kid": new.kid,
        "first_run": old is None,
    }


def _check_growth(http: httpx.Client, token: str, old: Head, new: Head) -> None:
    if new.tree_size < old.tree_size:
        raise WitnessFailed(f"the log shrank: {old.tree_size} entries before, {new.tree_size} now")
    if new.tree_size == old.tree_size or old.tree_size == 0:
        if old.tree_size and new.root_hash != old.root_hash:
            raise WitnessFailed(f"the tree of {old.tree_size} entries has another root now: the log was rewritten")
        return
    proof = _get(http, "/api/v1/access-log/proofs/consistency", token, first=old.tree_size, second=new.tree_size)
    try:
        path = [bytes.fromhex(digest) for digest in proof["path"]]
    except (KeyError, TypeError, ValueError):
        raise WitnessFailed("the consistency proof is malformed") from None
    holds = verify_consistency(
        old.tree_size, new.tree_size, bytes.fromhex(old.root_hash), bytes.fromhex(new.root_hash), path
    )
    if not holds:
        raise WitnessFailed(
            f"the log of {new.tree_size} entries does not extend the one of {old.tree_size} the witness holds: "
            "it was rewritten"
        )
