"""The child's chronology as integrators read it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.enums import EventType


class ChronologyRecordType(StrEnum):
    concern = "concern"
    assessment = "assessment"
    consent = "consent"
    team = "team"
    plan = "plan"


class ChronologyItem(BaseModel):
    at: datetime = Field(
        description="When it happened: raised, changed, decided, assessed (`assessed_at`), recorded, confirmed, "
        "withdrawn, expired (`valid_until`), formed, added, ended, reviewed (`held_at`), closed."
    )
    kind: EventType = Field(description="What happened, named as the event type is (`concern.status_changed`, …).")
    record_type: ChronologyRecordType = Field(description="The kind of record it happened to.")
    record_id: uuid.UUID = Field(description="The record: read it through its own endpoint (the access rule applies).")
    agency_id: str = Field(
        description="The agency that did it; for an ended membership or a closed team (whose actor is not "
        "recorded), the team's agency."
    )
    summary: str = Field(
        max_length=500,
        description="A line made from codes only (areas, urgency, statuses, the decision, perspective and ratings, "
        "roles, record types, a plan's kind, a goal's area and who expressed it, an action's statuses, whether a "
        "review was on time) — never from free text.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "at": "2026-11-20T08:15:00+00:00",
                    "kind": "concern.received",
                    "record_type": "concern",
                    "record_id": "0b6f7c1e-9d7a-4a53-8f0c-2e9b8d1f4a21",
                    "agency_id": "norrskolan",
                    "summary": "Concern raised (urgent): safe, nurtured; mandatory report to social services",
                }
            ]
        }
    )


class ChronologyPage(BaseModel):
    child_id: uuid.UUID
    items: list[ChronologyItem] = Field(max_length=200)
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
