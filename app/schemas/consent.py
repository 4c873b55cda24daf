"""Consent records as integrators send and read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.enums import ConsentStatus, GrantorRole, RecordType
from app.schemas.agency import AgencySlug
from app.schemas.common import Name, Purpose, Reason, StrictInput, Timestamp, UniqueItems


class Grantor(StrictInput):
    role: GrantorRole
    name: Name


class ConsentCreate(StrictInput):
    child_id: uuid.UUID
    granted_by: list[Grantor] = Field(min_length=1, max_length=10)
    agency_ids: Annotated[list[AgencySlug], Field(min_length=2, max_length=20), UniqueItems()] = Field(
        description="The agencies between which secrecy is lifted; at least two, the caller's included."
    )
    record_types: Annotated[list[RecordType], Field(min_length=1, max_length=5), UniqueItems()]
    purpose: Purpose
    valid_from: Timestamp | None = Field(default=None, description="Default: now.")
    valid_until: Timestamp

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "child_id": "6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10",
                    "granted_by": [{"role": "guardian", "name": "Anna Andersson"}],
                    "agency_ids": ["norrskolan", "socialtjansten"],
                    "record_types": ["concerns", "assessments"],
                    "purpose": "Samordnat stöd kring skolgång och hemsituation.",
                    "valid_from": "2026-11-22T00:00:00+01:00",
                    "valid_until": "2027-06-30T00:00:00+02:00",
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _window(self) -> ConsentCreate:
        if self.valid_from is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class ConsentWithdraw(StrictInput):
    withdrawn_by: Grantor
    reason: Reason | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"withdrawn_by": {"role": "guardian", "name": "Anna Andersson"}, "reason": "Vill inte."}]
        },
    )


class WithdrawalPublic(BaseModel):
    withdrawn_at: datetime
    withdrawn_by: Grantor
    reason: str | None
    agency_id: str = Field(description="The agency that recorded the withdrawal.")


class PartyPublic(BaseModel):
    agency_id: str
    confirmed_at: datetime | None = Field(
        description="When this agency confirmed the consent; null until it does. A consent opens "
        "an agency's records only once that agency has confirmed it (the recorder at once)."
    )


class ConsentPublic(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    agency_id: str = Field(description="The agency that recorded the consent.")
    granted_by: list[Grantor]
    agency_ids: list[str]
    parties: list[PartyPublic] = Field(description="Each named agency and whether it has confirmed.")
    record_types: list[RecordType]
    purpose: str
    valid_from: datetime
    valid_until: datetime
    status: ConsentStatus = Field(description="Derived at read time from the dates and any withdrawal.")
    withdrawal: WithdrawalPublic | None
    created_at: datetime
