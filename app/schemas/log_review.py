"""Log review, documented reviews, and the Merkle tree's heads and proofs, as auditors see them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from app.audit.chain import format_at
from app.schemas.access_log import AccessLogEntryPublic
from app.schemas.common import CalendarDate, Name

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="32 bytes, lower-case hex.")]
SEED_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class ReviewRule(StrEnum):
    many_children = "many_children"
    after_hours = "after_hours"
    denial_burst = "denial_burst"


class FindingPublic(BaseModel):
    rule: ReviewRule
    client_id: str
    entry_count: int = Field(description="How many of the day's entries the rule hit for this client.")
    entries: list[AccessLogEntryPublic] = Field(description="The first of them (at most 100), in seq order.")


class LogReviewPublic(BaseModel):
    date: date
    seed: str = Field(description="The sample's seed: the same seed gives the same sample of the same day.")
    day_entries: int = Field(description="How many entries the day holds (so far).")
    sample: list[AccessLogEntryPublic] = Field(
        description="The day's entries with the lowest SHA-256(seed ‖ ':' ‖ seq), in seq order."
    )
    findings: list[FindingPublic]


class ReviewFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: ReviewRule
    client_id: str | None = Field(default=None, max_length=128)
    entries: list[int] = Field(default_factory=list, max_length=1000, description="The seqs concerned.")
    note: str | None = Field(default=None, max_length=4000, description="What the reviewer concluded.")


class LogReviewCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "period_from": "2026-12-01",
                    "period_to": "2026-12-01",
                    "seed": "c0ffee",
                    "entries_checked": 20,
                    "findings": [{"rule": "after_hours", "client_id": "cl_abc", "entries": [17], "note": "Jour."}],
                    "reviewer": "Dataskyddsombud, Exempel kommun",
                }
            ]
        },
    )

    period_from: CalendarDate
    period_to: CalendarDate
    seed: str | None = Field(default=None, pattern=SEED_PATTERN)
    entries_checked: int = Field(ge=0, le=10_000_000)
    findings: list[ReviewFinding] = Field(max_length=200)
    # One line without control characters: a NUL cannot be stored in PostgreSQL's VARCHAR (a 500).
    reviewer: Name

    @model_validator(mode="after")
    def _period_in_order(self) -> LogReviewCreate:
        if self.period_to < self.period_from:
            raise ValueError("period_to must not be before period_from")
        return self


class LogReviewRecord(BaseModel):
    id: uuid.UUID
    period_from: date
    period_to: date
    seed: str | None
    entries_checked: int
    findings: list[ReviewFinding]
    reviewer: str
    client_id: str = Field(description="The client that documented the review.")
    agency_id: str
    created_at: datetime

    @field_serializer("created_at")
    def _canonical_created_at(self, created_at: datetime) -> str:
        return format_at(created_at)


class SignedTreeHeadPublic(BaseModel):
    tree_size: int = Field(description="Leaves: the entries seq 1 … tree_size.")
    root_hash: Hex64 = Field(description="RFC 9162 MTH of those entries' leaves.")
    timestamp: int = Field(description="Milliseconds since the epoch.")
    kid: str = Field(description="The signing key, as published at /.well-known/jwks.json.")
    signature: str = Field(
        description='Compact JWS, typ `tree-head+jws`, over {"root_hash","timestamp","tree_size"} (keys sorted).'
    )


class InclusionProofPublic(BaseModel):
    seq: int
    leaf_index: int = Field(description="seq - 1.")
    tree_size: int
    leaf_hash: Hex64 = Field(description="SHA-256(0x00 ‖ the entry's hash as 32 bytes).")
    path: list[Hex64] = Field(description="RFC 9162 §2.1.3.1 PATH, the leaf's sibling first.")


class ConsistencyProofPublic(BaseModel):
    first: int
    second: int
    path: list[Hex64] = Field(description="RFC 9162 §2.1.4.1 PROOF; empty when first == second.")
