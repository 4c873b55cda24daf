"""The child's plan as integrators send and read it: plans, goals, actions, reviews."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.enums import ActionStatus, Area, GoalProgress, Perspective, PlanKind, PlanStatus
from app.schemas.agency import AgencySlug
from app.schemas.assessment import CompassArea
from app.schemas.common import TEXT_PATTERN, CalendarDate, Note, Reason, StrictInput, Timestamp

PlanText = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=TEXT_PATTERN)]
Views = Annotated[Note, Field(description="In their own words (≤ 4 000 characters).")]


class PlanCreate(StrictInput):
    child_id: uuid.UUID
    kind: PlanKind = Field(
        description="`sip` needs an active consent for the child that covers plans, names your agency, a "
        "social_services and a health_care agency, and is confirmed by each of them (else 422)."
    )
    team_id: uuid.UUID | None = Field(
        default=None,
        description="The child's team that writes the plan: an open team for the same child that you may see. "
        "The agencies of its active members that may see the plan may write in it.",
    )
    summary: Note | None = None
    child_views: Views | None = None
    guardian_views: Views | None = None
    next_review_at: Timestamp = Field(description="When the plan is first reviewed; in the future.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "child_id": "6f1c0e52-3f4b-4b8e-9d6c-2b1c1f6f7a10",
                    "kind": "sip",
                    "team_id": "0b7c4a1e-5d2f-4c3b-8a9e-1f2d3c4b5a69",
                    "summary": "Trygg skolgång och stöd hemma.",
                    "child_views": "Jag vill ha en vuxen att prata med på rasterna.",
                    "guardian_views": "Vi vill ha hjälp med rutinerna på morgonen.",
                    "next_review_at": "2027-02-15T09:00:00+01:00",
                }
            ]
        },
    )


class GoalCreate(StrictInput):
    area: Area = Field(description="The compass area the goal is in.")
    text: PlanText
    expressed_by: Perspective = Field(description="Whose goal it is, in whose words.")
    target_date: CalendarDate | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "area": "safe",
                    "text": "Känna sig trygg på rasterna.",
                    "expressed_by": "child",
                    "target_date": "2027-06-15",
                }
            ]
        },
    )


class ActionCreate(StrictInput):
    goal_id: uuid.UUID | None = Field(default=None, description="A goal of this plan (else 422).")
    text: PlanText
    responsible_agency_id: AgencySlug = Field(
        description="The plan's agency, or one linked to it by an active consent for the child that covers "
        "plans and is confirmed by the plan's agency (else 422)."
    )
    due_date: CalendarDate | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "goal_id": "3d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d",
                    "text": "Rastvärd i närheten av eleven varje dag.",
                    "responsible_agency_id": "norrskolan",
                    "due_date": "2027-01-31",
                }
            ]
        },
    )


class ActionStatusChange(StrictInput):
    status: ActionStatus
    note: Note | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "in_progress", "note": "Rastvärd utsedd."}]},
    )


class ProgressCreate(StrictInput):
    goal_id: uuid.UUID = Field(description="A goal of this plan (else 422).")
    status: GoalProgress
    note: Note | None = None


def _one_per_goal(progress: list[ProgressCreate]) -> list[ProgressCreate]:
    if len({item.goal_id for item in progress}) != len(progress):
        raise ValueError("each goal may appear once")
    return progress


class ReviewCreate(StrictInput):
    held_at: Timestamp = Field(description="When the review was held; not in the future.")
    progress: Annotated[list[ProgressCreate], Field(max_length=200), AfterValidator(_one_per_goal)] = Field(
        description="Progress per goal, each goal at most once."
    )
    next_review_at: Timestamp | None = Field(
        default=None,
        description="Moves the plan's next review (in the future). Needed when the plan's review date has passed.",
    )
    child_views: Views | None = None
    guardian_views: Views | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "held_at": "2027-02-15T09:00:00+01:00",
                    "progress": [
                        {
                            "goal_id": "3d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d",
                            "status": "progressing",
                            "note": "Tryggare på rasterna.",
                        }
                    ],
                    "next_review_at": "2027-05-15T09:00:00+02:00",
                    "child_views": "Det är bättre nu.",
                }
            ]
        },
    )


class PlanClose(StrictInput):
    reason: Reason

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Målen är uppnådda; familjen behöver inte mer."}]}
    )


class GoalPublic(BaseModel):
    id: uuid.UUID
    area: Area
    text: str
    expressed_by: Perspective
    target_date: date | None
    agency_id: str = Field(description="The agency that added the goal.")
    created_at: datetime
    compass: dict[Perspective, CompassArea] | None = Field(
        default=None,
        description="The goal's area in the child's needs compass, per perspective: the latest and previous "
        "ratings the caller may see (as in the compass view). Null for a caller without `assessments:read`.",
    )


class ActionStatusItem(BaseModel):
    status: ActionStatus
    from_status: ActionStatus | None
    note: str | None
    changed_at: datetime
    agency_id: str


class ActionPublic(BaseModel):
    id: uuid.UUID
    goal_id: uuid.UUID | None
    text: str
    responsible_agency_id: str
    due_date: date | None
    status: ActionStatus
    status_history: list[ActionStatusItem] = Field(description="Every status, oldest first; the first is planned.")
    agency_id: str = Field(description="The agency that added the action.")
    created_at: datetime
    updated_at: datetime


class ProgressPublic(BaseModel):
    goal_id: uuid.UUID
    status: GoalProgress
    note: str | None = None


class ReviewPublic(BaseModel):
    id: uuid.UUID
    held_at: datetime
    was_due_at: datetime = Field(description="The plan's review date when the review was recorded.")
    next_review_at: datetime | None = Field(description="The review date it set; null when it kept the plan's.")
    progress: list[ProgressPublic]
    child_views: str | None
    guardian_views: str | None
    agency_id: str = Field(description="The agency that recorded the review.")
    created_at: datetime


class PlanPublic(BaseModel):
    id: uuid.UUID
    child_id: uuid.UUID
    agency_id: str = Field(description="The agency that made the plan; it has the overall responsibility.")
    kind: PlanKind
    team_id: uuid.UUID | None
    consent_id: uuid.UUID | None = Field(description="A SIP's consent (covering plans), checked when it was made.")
    status: PlanStatus
    summary: str | None
    child_views: str | None
    guardian_views: str | None
    next_review_at: datetime
    closed_at: datetime | None
    closed_reason: str | None
    goals: list[GoalPublic] = Field(description="Oldest first.")
    actions: list[ActionPublic] = Field(description="Oldest first.")
    reviews: list[ReviewPublic] = Field(description="Oldest first.")
    created_at: datetime
    updated_at: datetime
