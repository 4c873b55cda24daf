"""Concerns as integrators send and read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.agency import AgencySlug
from app.schemas.common import Description, Reason, StrictInput, Timestamp, UniqueItems
from app.schemas.domain import Area, ConcernStatus, Urgency

Areas = Annotated[list[Area], Field(min_length=1, max_length=8), UniqueItems("each area may appear once")]


class ConcernCreate(StrictInput):
    child_id: uuid.UUID
    areas: Areas = Field(description="The wellbeing areas the worry concerns (at least one).")
    description: Description = Field(description="What was observed (1–10 000 characters).")
    urgency: Urgency
    observed_at: Timestamp | None = Field(default=None, description="When it was observed (not in the future).")
    report_to_agency_id: AgencySlug | None = Field(
        default=None,
        description="A social-services agency: makes this a mandatory report (orosanmälan), "
        "which that agency may read and handle without consent.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "child_id": "6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10",
                    "areas": ["safe", "nurtured"],
                    "description": "Eleven har vid flera tillfällen kommit till skolan utan frukost "
                    "och berättar att ingen vuxen varit hemma.",
                    "urgency": "urgent",
                    "observed_at": "2026-11-20T08:15:00+01:00",
                    "report_to_agency_id": "socialtjansten",
                }
            ]
        },
    )


class ConcernStatusChange(StrictInput):
    status: ConcernStatus
    status_reason: Reason | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "accepted", "status_reason": "Utredning inleds."}]},
    )


class StatusHistoryItem(BaseModel):
    status: ConcernStatus
    from_status: ConcernStatus | None
    reason: str | None
    changed_at: datetime
    agency_id: str


class ConcernPublic(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    agency_id: str = Field(description="The raising agency.")
    areas: list[Area]
    description: str
    urgency: Urgency
    observed_at: datetime | None
    report_to_agency_id: str | None
    status: ConcernStatus
    status_history: list[StatusHistoryItem]
    created_at: datetime
    updated_at: datetime
