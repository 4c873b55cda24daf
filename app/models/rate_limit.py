"""The per-client rate limit's shared state: one row per client, as app/security/rate_limit_store.py
charges it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, String
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class RateLimitBucket(SQLModel, table=True):
    """A client's GCRA state: its *theoretical arrival time*, when its allowance is full again.

    A cache of the last minute, nothing more: a missing row is a full allowance, so losing the
    table (UNLOGGED on PostgreSQL: emptied after a crash) only forgives a minute's requests. One
    row per authenticated client, so the table stays as small as the client register; no sweep.
    """

    __tablename__ = "rate_limit_buckets"

    # An authenticated client's id (from a verified token), never caller text.
    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    # Microseconds since the epoch on the database's clock, so every API process agrees. An integer,
    # not a timestamp: the charge does arithmetic on it in one statement on both dialects, and
    # integer steps add up exactly (a burst of `limit` requests fits exactly, never one fewer).
    tat_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
