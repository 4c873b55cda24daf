"""The access log as auditors read it."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, field_serializer

from app.audit.chain import format_at
from app.enums import AccessBasis, Outcome


class AccessLogEntryPublic(BaseModel):
    seq: int = Field(description="Position in the chain, from 1, without gaps.")
    at: datetime = Field(description="UTC, always six fraction digits: the form the hash covers.")
    request_id: str
    client_id: str | None
    agency_id: str | None
    role: str | None
    action: str = Field(description="The operation, e.g. `concerns-get`.")
    resource_type: str | None
    resource_id: str | None = Field(description="The record read or written; for a create, the new record.")
    child_id: uuid.UUID | None
    method: str
    route: str | None = Field(description="The route template, never the path's values or the query.")
    status_code: int
    outcome: Outcome
    jti: str | None = Field(description="The access token's id.")
    purpose_of_use: str | None = Field(
        description="The caller's Purpose-Of-Use code, if sent (entries from before v1.1 may hold free text)."
    )
    repeat_count: int | None = Field(
        default=None,
        description="Set when this entry stands for a run of identical anonymous denials (no verified "
        "caller): how many requests it counts, the last of which had this `at` and `request_id`. Null: "
        "one request. Hashed after prev_hash, only when set.",
    )
    access_basis: AccessBasis | None = Field(
        default=None,
        description="Why the access rule disclosed the record: its agency's own, a consent naming it, a "
        "report to it, an active confirmed consent, or such a consent and team membership. Null where no "
        "child record was disclosed. Hashed after repeat_count, when set.",
    )
    consent_id: uuid.UUID | None = Field(
        default=None, description="The consent that opened the record (basis `consent` or `team`). Hashed last."
    )
    prev_hash: str
    hash: str = Field(
        description="SHA-256 over the canonical form of the fields above and prev_hash, then repeat_count, "
        "access_basis and consent_id, trailing nulls left out (README: checking the chain yourself)."
    )

    @field_serializer("at")
    def _canonical_at(self, at: datetime) -> str:
        return format_at(at)


class SignedCheckpoint(BaseModel):
    seq: int
    hash: str
    created_at: datetime
    kid: str = Field(description="The signing key, as published at /.well-known/jwks.json.")
    signature: str = Field(description='Compact JWS over {"created_at","hash","seq"} (keys sorted).')

    @field_serializer("created_at")
    def _canonical_created_at(self, created_at: datetime) -> str:
        return format_at(created_at)


class Verification(BaseModel):
    valid: bool
    entries: int = Field(description="Entries examined.")
    head_seq: int
    head_hash: str
    first_invalid_seq: int | None
    reason: str | None = Field(description="What is wrong at first_invalid_seq.")
    checkpoints_verified: int = Field(description="Signed checkpoints matched and verified on the way.")
    seconds: float
    checkpoint: SignedCheckpoint | None = Field(description="The verified head, signed (when valid).")
