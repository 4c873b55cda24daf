"""The outbox: thin events, who receives them, webhook subscriptions and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, SmallInteger, String, Text, Uuid
from sqlmodel import Field, SQLModel

from app.models.audit import AutoBigInteger
from app.models.base import UTCDateTime, new_id, utcnow


class Event(SQLModel, table=True):
    """A change, written in the same transaction as the change itself. Never personal content.

    `txid` (PostgreSQL: the writing transaction's id) orders the feed by commit, as for the
    access log's sequencer.
    """

    __tablename__ = "events"

    id: int | None = Field(default=None, sa_column=Column(AutoBigInteger, primary_key=True, autoincrement=True))
    txid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    event_id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, nullable=False, unique=True))
    type: str = Field(sa_column=Column(String(40), nullable=False))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    record_type: str = Field(sa_column=Column(String(32), nullable=False))
    # A child record's UUID in text form, or a client id (client.created, client.revoked).
    record_id: str = Field(sa_column=Column(String(64), nullable=False))
    child_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
    actor_agency_id: str | None = Field(default=None, sa_column=Column(String(64)))


class EventRecipient(SQLModel, table=True):
    """An agency that receives an event: one that may see the record then, or just lost it."""

    __tablename__ = "event_recipients"
    __table_args__ = (Index("ix_event_recipients_agency_id_txid_event_pk", "agency_id", "txid", "event_pk"),)

    event_pk: int = Field(sa_column=Column(BigInteger, ForeignKey("events.id"), primary_key=True))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), primary_key=True))
    txid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class ConsentExpiration(SQLModel, table=True):
    """Marks that `consent.expired` was published for a consent: once, when it happened."""

    __tablename__ = "consent_expirations"

    consent_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("consents.id"), primary_key=True))
    noticed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Subscription(SQLModel, table=True):
    """A client's webhook. It consumes its agency's feed from its own position, in order."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_client_id", "client_id"),
        Index("ix_subscriptions_due", "status", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_column=Column(Uuid, primary_key=True))
    client_id: str = Field(sa_column=Column(String(64), ForeignKey("clients.client_id"), nullable=False))
    agency_id: str = Field(sa_column=Column(String(64), ForeignKey("agencies.id"), nullable=False))
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    secret_ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    # After a rotation: the secret before it (sealed too), also signing deliveries until it expires.
    previous_secret_ciphertext: str | None = Field(default=None, sa_column=Column(Text))
    previous_secret_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    status: str = Field(default="active", sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Where in the agency's feed this subscription stands: the last event it delivered.
    position_txid: int = Field(sa_column=Column(BigInteger, nullable=False))
    position_event_pk: int = Field(sa_column=Column(BigInteger, nullable=False))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    failures: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    failing_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    lease_owner: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class Delivery(SQLModel, table=True):
    """One delivery attempt, as the subscriber may read it back."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_subscription_id_id", "subscription_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(AutoBigInteger, primary_key=True, autoincrement=True))
    subscription_id: uuid.UUID = Field(sa_column=Column(Uuid, ForeignKey("subscriptions.id"), nullable=False))
    event_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    event_type: str = Field(sa_column=Column(String(40), nullable=False))
    attempt: int = Field(sa_column=Column(Integer, nullable=False))
    attempted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(SmallInteger))
    error: str | None = Field(default=None, sa_column=Column(String(500)))
    duration_ms: int = Field(sa_column=Column(Integer, nullable=False))
    worker: str = Field(sa_column=Column(String(64), nullable=False))
