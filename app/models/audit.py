"""The access log (append-only, hash-chained) and the journal head that orders it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, String, Uuid
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime

GENESIS_HASH = "0" * 64


class AccessLogEntry(SQLModel, table=True):
    """One access: who, when, what, which record, which child, with what outcome.

    Rows are only ever inserted (the database refuses UPDATE, DELETE and TRUNCATE, see the
    migration). `seq`, `prev_hash` and `hash` are assigned under the journal head's lock, so
    the chain is linear and gap-free whichever process appends.
    """

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_child_id_seq", "child_id", "seq"),
        Index("ix_access_log_client_id_at", "client_id", "at"),
        Index("ix_access_log_agency_id_seq", "agency_id", "seq"),
        Index("ix_access_log_at", "at"),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    request_id: str = Field(sa_column=Column(String(128), nullable=False))
    client_id: str | None = Field(default=None, sa_column=Column(String(128)))
    agency_id: str | None = Field(default=None, sa_column=Column(String(64)))
    role: str | None = Field(default=None, sa_column=Column(String(32)))
    action: str = Field(sa_column=Column(String(64), nullable=False))
    resource_type: str | None = Field(default=None, sa_column=Column(String(32)))
    resource_id: str | None = Field(default=None, sa_column=Column(String(64)))
    child_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
    method: str = Field(sa_column=Column(String(10), nullable=False))
    route: str | None = Field(default=None, sa_column=Column(String(200)))
    status_code: int = Field(sa_column=Column(SmallInteger, nullable=False))
    outcome: str = Field(sa_column=Column(String(10), nullable=False))
    jti: str | None = Field(default=None, sa_column=Column(String(64)))
    purpose_of_use: str | None = Field(default=None, sa_column=Column(String(200)))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class JournalHead(SQLModel, table=True):
    """The single row whose lock orders every commit that writes log entries or events.

    Every transaction that appends takes this row's lock as its last step before COMMIT, so
    the order of `log_seq` and `event_seq` is the order in which transactions become visible:
    a reader that has seen number n has seen everything before it.
    """

    __tablename__ = "journal_head"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    log_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    log_hash: str = Field(sa_column=Column(String(64), nullable=False))
    event_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
