"""The child's plan (barnets plan, SIP): goals, actions and reviews, followed over time.

Nothing is rewritten: goals and reviews are append-only (the database refuses UPDATE and
DELETE); an action's status changes are appended to its `status_history`; a plan is closed,
never deleted. The plan row itself changes only in `next_review_at` (moved by a review),
`status`/`closed_*` (closed once) and `updated_at`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, String, Text, Uuid, text
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, new_id, utcnow

ACTIVE = "active"
CLOSED = "closed"


class Plan(SQLModel, table=True):
    __tablename__ = "plans"
    __table_args__ = (
        # One active plan per child and agency, in the database; the wider rule — one active plan
        # among the agencies that can see each other's plans — is the service's, under a lock on
        # the child (as for teams).
        Index(
            "uq_plans_one_active_per_child_agency",
            "child_id",
            "agency_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        Index("ix_plans_child_id", "child_id"),
        Index("ix_plans_created_at_id", "created_at", "id"),
        # The worker's look for reviews that fell due (plan.review_due).
        Index("ix_plans_status_next_review_at", "status", "next_review_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    child_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("children.id"), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    team_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, ForeignKey("teams.id")))
    # A SIP's basis: the consent that covered plans and was confirmed by the caller, a
    # social-services and a health-care agency when the SIP was made.
    consent_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, ForeignKey("consents.id")))
    summary: str | None = Field(default=None, sa_column=Column(Text))
    child_views: str | None = Field(default=None, sa_column=Column(Text))
    guardian_views: str | None = Field(default=None, sa_column=Column(Text))
    next_review_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(default=ACTIVE, sa_column=Column(String(8), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    closed_reason: str | None = Field(default=None, sa_column=Column(Text))
    closed_by_agency_id: str | None = Field(default=None, sa_column=Column(String(64), ForeignKey("agencies.id")))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class PlanGoal(SQLModel, table=True):
    """What should get better, in one compass area, in whose words. Append-only."""

    __tablename__ = "plan_goals"
    __table_args__ = (Index("ix_plan_goals_plan_id", "plan_id"),)

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    plan_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("plans.id"), nullable=False))
    area: str = Field(sa_column=Column(String(16), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    expressed_by: str = Field(sa_column=Column(String(16), nullable=False))
    target_date: date | None = Field(default=None, sa_column=Column(Date))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class PlanAction(SQLModel, table=True):
    """Who does what by when. Its status changes are appended to `status_history`."""

    __tablename__ = "plan_actions"
    __table_args__ = (Index("ix_plan_actions_plan_id", "plan_id"),)

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    plan_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("plans.id"), nullable=False))
    goal_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, ForeignKey("plan_goals.id")))
    text: str = Field(sa_column=Column(Text, nullable=False))
    responsible_agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    due_date: date | None = Field(default=None, sa_column=Column(Date))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    # [{status, from_status, note, changed_at, agency_id}], appended, never rewritten; the first
    # is "planned".
    status_history: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class PlanReview(SQLModel, table=True):
    """A review meeting: progress per goal, and when the next one is. Append-only."""

    __tablename__ = "plan_reviews"
    __table_args__ = (Index("ix_plan_reviews_plan_id", "plan_id"),)

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    plan_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("plans.id"), nullable=False))
    held_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # The plan's review date when this review was recorded: `held_at <= was_due_at` is a review
    # on time (what the leaders' statistics count).
    was_due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    next_review_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # [{goal_id, status, note}]; every goal_id is one of the plan's goals (the service checks).
    progress: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    child_views: str | None = Field(default=None, sa_column=Column(Text))
    guardian_views: str | None = Field(default=None, sa_column=Column(Text))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class PlanReviewDue(SQLModel, table=True):
    """Marks that `plan.review_due` was published for a plan's review date: once per date."""

    __tablename__ = "plan_review_due_notices"

    plan_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("plans.id"), primary_key=True))
    due_at: datetime = Field(sa_column=Column(UTCDateTime, primary_key=True))
    noticed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
