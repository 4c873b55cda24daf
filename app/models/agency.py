"""Agencies and their clients: who may call, and on whose behalf."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, false
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, utcnow


class Agency(SQLModel, table=True):
    __tablename__ = "agencies"

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    municipality: str | None = Field(default=None, sa_column=Column(String(100)))
    organisation_number: str | None = Field(default=None, sa_column=Column(String(10)))
    school_unit_code: str | None = Field(default=None, sa_column=Column(String(8)))
    hsa_id: str | None = Field(default=None, sa_column=Column(String(64)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Client(SQLModel, table=True):
    """An agency's system. The secret is kept only as an argon2 hash.

    `platform`: an admin that manages every agency and client (made only by the operator's
    CLI); any other admin acts within its own agency.
    """

    __tablename__ = "clients"
    __table_args__ = (Index("ix_clients_agency_id", "agency_id"),)

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    secret_hash: str = Field(sa_column=Column(String(200), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    role: str = Field(sa_column=Column(String(32), nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    platform: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
