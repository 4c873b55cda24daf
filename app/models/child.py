"""Children, identified between systems by personal identity number."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, String, Uuid
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, new_id, utcnow


class Child(SQLModel, table=True):
    """The personnummer is stored so that it can be found (unique), and appears only in the
    bodies of the children endpoints — never in a path, a query string or the access log."""

    __tablename__ = "children"

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    personnummer: str = Field(sa_column=Column(String(12), nullable=False, unique=True))
    birth_date: date = Field(sa_column=Column(Date, nullable=False))
    is_coordination_number: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
