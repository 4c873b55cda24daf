"""Concerns (oro, orosanmälan): a worry about a child, and its small workflow."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Text, Uuid
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, new_id, utcnow


class Concern(SQLModel, table=True):
    __tablename__ = "concerns"
    __table_args__ = (
        Index("ix_concerns_child_id_created_at", "child_id", "created_at"),
        Index("ix_concerns_agency_id_created_at", "agency_id", "created_at"),
        Index("ix_concerns_report_to_agency_id", "report_to_agency_id"),
        Index("ix_concerns_created_at_id", "created_at", "id"),
        Index("ix_concerns_decision_due_at", "decision_due_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    child_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("children.id"), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    areas: list[str] = Field(sa_column=Column(JSON, nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))
    urgency: str = Field(sa_column=Column(String(16), nullable=False))
    observed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    report_to_agency_id: str | None = Field(default=None, sa_column=Column(String(64), ForeignKey("agencies.id")))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    # Every change of status as a fact of its own — {status, from_status, reason, changed_at,
    # agency_id} — appended, never rewritten; the first is "received". (Entries written before
    # issue 16 also hold the client_id; it is never shown.)
    status_history: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    # Feedback to the reporter (återkoppling): the reported-to agency's decision, recorded once.
    decision: str | None = Field(default=None, sa_column=Column(String(24)))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    decision_agency_id: str | None = Field(default=None, sa_column=Column(String(64), ForeignKey("agencies.id")))
    # created_at + 14 days for a mandatory report, else null; and when its passing was announced.
    decision_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    decision_overdue_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
