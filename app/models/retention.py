"""The retention purge's gate: a row exists only inside a purge transaction.

The append-only triggers of the child-record tables let a DELETE through only while this table
has a row (migration 0024). The purge inserts its row first and deletes it before committing,
so no other transaction ever sees one (app/services/retention.py). On PostgreSQL `txid` is the
inserting transaction's id (a server default, as in the access log; 0 on SQLite) and the triggers
count only the current transaction's row.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Uuid
from sqlmodel import Field, SQLModel

from app.models.base import UTCDateTime


class RetentionPurgeGate(SQLModel, table=True):
    __tablename__ = "retention_purge_gate"

    run_id: uuid.UUID = Field(sa_column=Column(Uuid, primary_key=True))
    txid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
