"""The child's team and its memberships."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.enums import TeamRole, TeamStatus
from app.schemas.agency import AgencySlug
from app.schemas.common import Name, Purpose, StrictInput


class TeamCreate(StrictInput):
    child_id: uuid.UUID
    purpose: Purpose | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"child_id": "6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10", "purpose": "SIP kring skolgång."}]
        },
    )


class MemberCreate(StrictInput):
    agency_id: AgencySlug
    role: TeamRole
    person_name: Name
    person_title: Name | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "agency_id": "socialtjansten",
                    "role": "coordinator",
                    "person_name": "Karin Berg",
                    "person_title": "Socialsekreterare",
                }
            ]
        },
    )


class MemberPublic(BaseModel):
    id: uuid.UUID
    agency_id: str
    role: TeamRole
    person_name: str
    person_title: str | None
    started_at: datetime
    ended_at: datetime | None = Field(description="Set when the membership ended; it stays on record.")


class TeamPublic(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    agency_id: str = Field(description="The agency that formed the team.")
    purpose: str | None
    status: TeamStatus
    closed_at: datetime | None
    created_at: datetime
    members: list[MemberPublic] = Field(description="All memberships, ended ones included, oldest first.")
