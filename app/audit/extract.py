"""The family's extract (GDPR art. 15): one child's access report, signed, with Merkle proofs.

A compact JWS (`typ: access-report+jws`, signed by a key published in the JWKS) over

    {"child_id", "generated_at", "entries": [{"seq", "at", "agency_id", "agency_name", "action",
     "resource_type", "outcome", "purpose_of_use", "access_basis", "hash", "inclusion_proof"}],
     "tree_head": {"tree_size", "root_hash", "timestamp", "kid", "signature"}}

`tree_head.signature` is a signed tree head (app/audit/tree_heads.py) of the log at the moment
of the extract; each entry's `inclusion_proof` is the RFC 9162 PATH of leaf `seq - 1` in that
tree, so with the JWKS alone a family, or the supervisory authority, can check offline that
every entry shown is in the very log the service signed — and, with a consistency proof from
`GET /api/v1/access-log/proofs/consistency`, that the log they were shown has only grown since.
An entry chained after the stored tree was last extended (only while the sequencer builds the
tree of a log older than it) carries `inclusion_proof: null`.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import Connection

from app.audit.chain import format_at
from app.audit.proofs import inclusion_proof, root_at, stored_tree_size
from app.audit.queries import chain, chained_entries, log
from app.audit.tree_heads import SignedTreeHead, TreeHead, sign_tree_head
from app.models.agency import Agency
from app.models.base import table_of, utcnow
from app.security.keys import KeyRing

EXTRACT_TYPE = "access-report+jws"
MEDIA_TYPE = "application/jose"
DESCRIPTION = (
    'A compact JWS (typ `access-report+jws`, key in the JWKS) over {"child_id", "generated_at", "entries": '
    '[{"seq", "at", "agency_id", "agency_name", "action", "resource_type", "outcome", "purpose_of_use", '
    '"access_basis", "hash", "inclusion_proof"}], "tree_head": {"tree_size", "root_hash", "timestamp", "kid", '
    '"signature"}}; inclusion_proof is the RFC 9162 PATH of leaf seq - 1 in that signed tree.'
)
_agencies = table_of(Agency)


def signed_current_head(connection: Connection, keys: KeyRing) -> SignedTreeHead:
    """The stored tree's current head, signed now."""
    size = stored_tree_size(connection)
    return sign_tree_head(keys, TreeHead(size, root_at(connection, size)))


def head_claims(head: SignedTreeHead) -> dict[str, Any]:
    return {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "timestamp": head.timestamp,
        "kid": head.kid,
        "signature": head.signature,
    }


def build_extract(connection: Connection, keys: KeyRing, child_id: uuid.UUID) -> str:
    """The signed extract, read in the caller's transaction."""
    head = signed_current_head(connection, keys)
    statement = (
        chained_entries()
        .add_columns(_agencies.c.name.label("agency_name"))
        .outerjoin(_agencies, _agencies.c.id == log.c.agency_id)
        .where(log.c.child_id == child_id)
        .order_by(chain.c.seq)
    )
    entries = []
    for row in connection.execute(statement).mappings():
        seq = int(row["seq"])
        proof = inclusion_proof(connection, seq, head.tree_size).path if seq <= head.tree_size else None
        entries.append(
            {
                "seq": seq,
                "at": format_at(row["at"]),
                "agency_id": row["agency_id"],
                "agency_name": row["agency_name"],
                "action": row["action"],
                "resource_type": row["resource_type"],
                "outcome": row["outcome"],
                "purpose_of_use": row["purpose_of_use"],
                "access_basis": row["access_basis"],
                "hash": row["hash"],
                "inclusion_proof": proof,
            }
        )
    claims = {
        "child_id": str(child_id),
        "generated_at": format_at(utcnow()),
        "entries": entries,
        "tree_head": head_claims(head),
    }
    return keys.current.sign_compact(orjson.dumps(claims), {"typ": EXTRACT_TYPE})
