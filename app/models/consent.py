"""Consent records: who lifted secrecy between which agencies, for what, until when.

A consent is never edited or deleted (the database refuses it); its withdrawal is a fact of its
own. Its status — pending, active, expired, withdrawn — is derived at read time.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, ForeignKeyConstraint, Index, String, Text, Uuid, false
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime, new_id, utcnow


class Consent(SQLModel, table=True):
    __tablename__ = "consents"
    __table_args__ = (
        Index("ix_consents_child_id_created_at", "child_id", "created_at"),
        Index("ix_consents_valid_until", "valid_until"),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    child_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("children.id"), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    granted_by: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    covers_concerns: bool = Field(sa_column=Column(Boolean, nullable=False))
    covers_assessments: bool = Field(sa_column=Column(Boolean, nullable=False))
    covers_teams: bool = Field(sa_column=Column(Boolean, nullable=False))
    covers_plans: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    covers_signals: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    valid_from: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    valid_until: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class ConsentParty(SQLModel, table=True):
    """An agency a consent names. `child_id` repeats the consent's, for the access rule's index."""

    __tablename__ = "consent_parties"
    __table_args__ = (Index("ix_consent_parties_child_id_agency_id", "child_id", "agency_id"),)

    consent_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("consents.id"), primary_key=True))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), primary_key=True))
    child_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))


class ConsentWithdrawal(SQLModel, table=True):
    """At most one per consent (the primary key): a second withdrawal is a conflict."""

    __tablename__ = "consent_withdrawals"

    consent_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("consents.id"), primary_key=True))
    withdrawn_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    withdrawn_by: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))


class ConsentConfirmation(SQLModel, table=True):
    """A named agency's confirmation that the family's consent lets it disclose its records.

    Under OSL the agency that holds a record decides whether a consent covers disclosing it, so
    a consent opens an agency's records only once that agency has confirmed it (the recording
    agency confirms by recording). At most one per party (the primary key): a second is a
    conflict. Append-only, like the consent itself.
    """

    __tablename__ = "consent_confirmations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["consent_id", "agency_id"],
            ["consent_parties.consent_id", "consent_parties.agency_id"],
            name="fk_consent_confirmations_consent_id_consent_parties",
        ),
    )

    consent_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    agency_id: str = Field(sa_column=Column(String(64), primary_key=True))
    confirmed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
