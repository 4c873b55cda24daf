"""Compass assessments (Behovskompassen): never edited; a new assessment is a new record."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Uuid
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, new_id, utcnow


class Assessment(SQLModel, table=True):
    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_child_id_assessed_at", "child_id", "assessed_at"),
        Index("ix_assessments_created_at_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    child_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("children.id"), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    perspective: str = Field(sa_column=Column(String(16), nullable=False))
    assessed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # {area code: {"rating": 1–5 | null, "strengths": text | null, "needs": text | null}}
    areas: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
