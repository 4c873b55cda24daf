"""Signed tree heads: the service's compact JWS over {"root_hash", "timestamp", "tree_size"}.

The payload is JSON with sorted keys and no whitespace: `tree_size` (leaves, = the last seq
covered), `root_hash` (64 lower-case hex digits, RFC 9162 MTH) and `timestamp` (milliseconds
since the epoch, as in RFC 9162's tree heads); the protected header carries `typ:
"tree-head+jws"` and the `kid` of the signing key as published in the JWKS. A witness that
keeps one can ask for a consistency proof to any later head and check that the log only grew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from jose import jws
from jose.exceptions import JOSEError
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from app.models.audit import AccessLogTreeHead
from app.models.base import table_of, utcnow
from app.security.keys import KeyRing

TREE_HEAD_TYPE = "tree-head+jws"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_heads = table_of(AccessLogTreeHead)


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    root_hash: str  # hex


@dataclass(frozen=True)
class SignedTreeHead:
    tree_size: int
    root_hash: str
    timestamp: int  # milliseconds since the epoch
    kid: str
    signature: str

    @property
    def created_at(self) -> datetime:
        return _EPOCH + self.timestamp * _MILLISECOND


class TreeHeadInvalid(ValueError):
    """The signed tree head is not one this service's keys signed, or is malformed."""


def payload(tree_size: int, root_hash: str, timestamp: int) -> bytes:
    return orjson.dumps(
        {"tree_size": tree_size, "root_hash": root_hash, "timestamp": timestamp}, option=orjson.OPT_SORT_KEYS
    )


def sign_tree_head(keys: KeyRing, head: TreeHead) -> SignedTreeHead:
    timestamp = (utcnow() - _EPOCH) // _MILLISECOND
    key = keys.current
    signature = key.sign_compact(payload(head.tree_size, head.root_hash, timestamp), {"typ": TREE_HEAD_TYPE})
    return SignedTreeHead(head.tree_size, head.root_hash, timestamp, key.kid, signature)


def verify_tree_head(keys: KeyRing, signature: str) -> SignedTreeHead:
    """The head a compact JWS states, once its signature checks; else TreeHeadInvalid.

    A key id the ring does not hold is a failure, never a skip: a head signed by an unknown key
    proves nothing about this log.
    """
    try:
        header = jws.get_unverified_header(signature)
    except JOSEError as error:
        raise TreeHeadInvalid(f"not a compact JWS: {error}") from None
    if header.get("typ") != TREE_HEAD_TYPE:
        raise TreeHeadInvalid(f"not a tree head (typ {header.get('typ')!r})")
    kid = header.get("kid")
    known = keys.verifier_for(kid) if isinstance(kid, str) else None
    if known is None:
        raise TreeHeadInvalid(f"signed by a key the service does not know (kid {kid!r})")
    verifier, algorithm = known  # current, previous or retired (app/security/keys.py)
    try:
        raw = jws.verify(signature, verifier, algorithms=[algorithm])
    except JOSEError:
        raise TreeHeadInvalid("the signature does not verify") from None
    return _parse(raw, kid, signature)


def _parse(raw: bytes, kid: str, signature: str) -> SignedTreeHead:
    try:
        claims: Any = orjson.loads(raw)
        size, root_hash, timestamp = int(claims["tree_size"]), str(claims["root_hash"]), int(claims["timestamp"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise TreeHeadInvalid("the payload is not a tree head") from None
    if raw != payload(size, root_hash, timestamp):
        raise TreeHeadInvalid("the payload is not in canonical form")
    return SignedTreeHead(size, root_hash, timestamp, kid, signature)


def store_tree_head(connection: Connection, head: SignedTreeHead) -> None:
    """Store unless a head of this size is stored already (two verifications may race: first wins)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_heads).values(
        tree_size=head.tree_size,
        root_hash=head.root_hash,
        created_at=head.created_at,
        kid=head.kid,
        signature=head.signature,
    )
    connection.execute(statement.on_conflict_do_nothing(index_elements=["tree_size"]))


def load_tree_heads(connection: Connection) -> dict[int, SignedTreeHead]:
    rows = connection.execute(select(_heads).order_by(_heads.c.tree_size)).all()
    return {row.tree_size: _stored(row) for row in rows}


def latest_tree_head(connection: Connection) -> SignedTreeHead | None:
    """The most recent signed tree head (the one taken at the last checkpoint)."""
    row = connection.execute(select(_heads).order_by(_heads.c.tree_size.desc()).limit(1)).first()
    return _stored(row) if row is not None else None


def _stored(row: Any) -> SignedTreeHead:
    timestamp = (row.created_at - _EPOCH) // _MILLISECOND
    return SignedTreeHead(row.tree_size, row.root_hash, timestamp, row.kid, row.signature)
