"""The child's team across agencies, and its memberships (kept when they end)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Text, Uuid, text
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, new_id, utcnow

OPEN = "open"
CLOSED = "closed"
SINGLE_ROLES = ("contact_person", "coordinator")


class Team(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = (
        # One open team per child and agency, in the database; the wider rule — one open team
        # among the agencies that can see each other's teams — is the service's (app/services/
        # teams.py), under a lock on the child.
        Index(
            "uq_teams_one_open_per_child_agency",
            "child_id",
            "agency_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_teams_child_id", "child_id"),
        Index("ix_teams_created_at_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    child_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("children.id"), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    purpose: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default=OPEN, sa_column=Column(String(8), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_members"
    __table_args__ = (
        # At most one active contact person and one active coordinator per team, also under
        # concurrency.
        Index(
            "uq_team_members_one_active_per_role",
            "team_id",
            "role",
            unique=True,
            postgresql_where=text("ended_at IS NULL AND role IN ('contact_person', 'coordinator')"),
            sqlite_where=text("ended_at IS NULL AND role IN ('contact_person', 'coordinator')"),
        ),
        Index("ix_team_members_team_id", "team_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    team_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("teams.id"), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    person_name: str = Field(sa_column=Column(String(200), nullable=False))
    person_title: str | None = Field(default=None, sa_column=Column(String(200)))
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    added_by_agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
