"""Signed checkpoints of the chain's head: JWS over {"seq", "hash", "created_at"}."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson
from jose import jws
from jose.exceptions import JOSEError
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from app.audit.chain import format_at
from app.models.audit import AccessLogCheckpoint
from app.models.base import table_of, utcnow
from app.security.keys import KeyRing

_checkpoints = table_of(AccessLogCheckpoint)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    created_at: datetime
    kid: str
    signature: str


def _payload(seq: int, head_hash: str, created_at: datetime) -> bytes:
    return orjson.dumps(
        {"seq": seq, "hash": head_hash, "created_at": format_at(created_at)}, option=orjson.OPT_SORT_KEYS
    )


def sign_checkpoint(keys: KeyRing, seq: int, head_hash: str) -> Checkpoint:
    created_at = utcnow()
    key = keys.current
    signature = key.sign_compact(_payload(seq, head_hash, created_at), {"typ": "log-checkpoint+jws"})
    return Checkpoint(seq=seq, hash=head_hash, created_at=created_at, kid=key.kid, signature=signature)


def store_checkpoint(connection: Connection, checkpoint: Checkpoint) -> None:
    """Store unless this head is already checkpointed (two verifications may race: first wins)."""
    exists = connection.execute(select(_checkpoints.c.seq).where(_checkpoints.c.seq == checkpoint.seq)).first()
    if exists is not None:
        return
    try:
        connection.execute(
            insert(_checkpoints).values(
                seq=checkpoint.seq,
                hash=checkpoint.hash,
                created_at=checkpoint.created_at,
                kid=checkpoint.kid,
                signature=checkpoint.signature,
            )
        )
    except IntegrityError:
        connection.rollback()


def load_checkpoints(connection: Connection) -> dict[int, Checkpoint]:
    rows = connection.execute(select(_checkpoints).order_by(_checkpoints.c.seq)).all()
    return {row.seq: Checkpoint(row.seq, row.hash, row.created_at, row.kid, row.signature) for row in rows}


def signature_state(keys: KeyRing | None, checkpoint: Checkpoint) -> str:
    """`valid`, `invalid` (forged or altered) or `unknown-key` (a key the service never had —
    current, previous and retired keys are all known: app/security/keys.py)."""
    expected = _payload(checkpoint.seq, checkpoint.hash, checkpoint.created_at)
    return jws_state(keys, checkpoint.kid, checkpoint.signature, expected)


def jws_state(keys: KeyRing | None, kid: str, signature: str, expected: bytes) -> str:
    """Whether `signature` is one of the service's keys' compact JWS over exactly `expected`:
    `valid`, `invalid` or `unknown-key` (as for a checkpoint)."""
    if keys is None:
        return "unknown-key"
    known = keys.verifier_for(kid)
    if known is None:
        return "unknown-key"
    verifier, algorithm = known
    try:
        payload = jws.verify(signature, verifier, algorithms=[algorithm])
    except JOSEError:
        return "invalid"
    return "valid" if payload == expected else "invalid"
