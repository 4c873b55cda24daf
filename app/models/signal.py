"""Early-warning signals: when each rule was last raised for a child to an agency.

A signal itself is never stored: it is worked out for the reading agency from what it may see
(app/services/signals.py). What is stored is the fact that `signal.raised` went out, so that it
goes out once per rule, child and agency within the rule's window — the primary key makes that
hold also when two writes for the child race (the second one's upsert finds the first's row).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Uuid
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class SignalRaise(SQLModel, table=True):
    __tablename__ = "signal_raises"

    child_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("children.id"), primary_key=True))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), primary_key=True))
    rule: str = Field(sa_column=Column(String(32), primary_key=True))
    # The last time the event went out; a new one may go out once this lies outside the window.
    raised_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
