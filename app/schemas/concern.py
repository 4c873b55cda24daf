"""Concerns as integrators send and read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.enums import Area, ConcernStatus, Decision, Urgency
from app.schemas.agency import AgencySlug
from app.schemas.common import Description, Reason, StrictInput, Timestamp, UniqueItems

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


class DecisionCreate(StrictInput):
    decision: Decision = Field(
        description="`investigation_opened`, `not_opened` or `already_ongoing` — all the reporter learns "
        "without the family's consent."
    )
    decided_at: Timestamp | None = Field(
        default=None, description="When it was decided (default now; not in the future, not before the report)."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"decision": "investigation_opened", "decided_at": "2026-11-27T10:00:00+01:00"}]
        },
    )


class ConcernDecision(BaseModel):
    decision: Decision
    decided_at: datetime = Field(description="When the reported-to agency decided.")
    agency_id: str = Field(description="The agency that decided: the one the concern was reported to.")


class StatusHistoryItem(BaseModel):
    status: ConcernStatus
    from_status: ConcernStatus | None = Field(description="The status before; null for the first, `received`.")
    reason: str | None = Field(
        description="The writer's reason; null when none was given, or when another agency wrote it and no active "
        "consent for the child, confirmed by the writer's agency, names both agencies and covers `concerns`."
    )
    at: datetime = Field(description="When the status changed.")
    changed_at: datetime = Field(description="The same as `at` (the v1 name).")
    agency_id: str = Field(description="The agency that changed it (never the client).")


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
    status_reason: str | None = Field(
        description="The reason given with the current status, under the same rule as `status_history[].reason`."
    )
    status_history: list[StatusHistoryItem]
    decision: ConcernDecision | None = Field(
        description="The reported-to agency's decision on a mandatory report; null until it is recorded."
    )
    decision_due_at: datetime | None = Field(
        description="`created_at` + 14 days for a mandatory report (the deadline for the decision), else null."
    )
    created_at: datetime
    updated_at: datetime
