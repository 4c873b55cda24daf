"""Early-warning signals as the reading agency receives them (computed, never stored)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.enums import Area


class SignalRule(StrEnum):
    """The three rules; their thresholds are settings (`SAMHANDLING_SIGNALS_*`)."""

    concerns_accumulating = "concerns_accumulating"
    several_agencies = "several_agencies"
    compass_drop = "compass_drop"


class SignalPublic(BaseModel):
    rule: SignalRule
    raised_at: datetime = Field(
        description="When the records now in the caller's view first made the rule hold: the concern that "
        "reached the threshold, or the earliest assessment that shows the drop."
    )
    concern_count: int = Field(
        ge=0,
        description="Concerns about the child in the window that the caller may see, plus those of agencies "
        "that confirmed a `signals` consent naming the caller (counted, never shown).",
    )
    agency_count: int = Field(ge=0, description="How many agencies raised those concerns.")
    areas: list[Area] = Field(
        description="For the concern rules the areas of those concerns; for `compass_drop` the areas that "
        "dropped or are rated low."
    )
    record_ids: list[uuid.UUID] = Field(
        description="The records the signal rests on that the caller may see (concerns, or for `compass_drop` "
        "assessments); counted concerns are never listed."
    )


class SignalList(BaseModel):
    child_id: uuid.UUID
    items: list[SignalPublic]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "child_id": "0b4e7c1e-3f7a-4d38-9a52-6c1d2b9e8f10",
                    "items": [
                        {
                            "rule": "several_agencies",
                            "raised_at": "2026-11-30T09:12:00+00:00",
                            "concern_count": 3,
                            "agency_count": 2,
                            "areas": ["safe", "nurtured"],
                            "record_ids": ["5f0c2a4e-8d4b-4b7e-9f2a-1c3d5e7f9a0b"],
                        }
                    ],
                }
            ]
        }
    )
