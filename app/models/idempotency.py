"""Idempotency keys: a retried create returns the first response and creates nothing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, SmallInteger, String, Text, Uuid
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    client_id: str = Field(sa_column=Column(String(128), primary_key=True))
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    operation: str = Field(sa_column=Column(String(64), nullable=False))
    request_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(SmallInteger))
    body: str | None = Field(default=None, sa_column=Column(Text))
    headers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    resource_type: str | None = Field(default=None, sa_column=Column(String(32)))
    resource_id: str | None = Field(default=None, sa_column=Column(String(64)))
    child_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid))
