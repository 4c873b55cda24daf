"""Client authentication attempts at the token endpoint, as the login throttle counts them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from app.models.audit import AutoBigInteger
from app.models.base import UTCDateTime


class AuthAttempt(SQLModel, table=True):
    """One attempt, reserved *before* its secret is checked; deleted again when the secret was right.

    So a row is a failure, or an attempt still being checked: concurrent guesses count from the
    moment they arrive, not only once argon2 has rejected them. Rows older than the throttle's
    window count for nothing and are deleted (app/security/login_throttle.py, the worker).
    """

    __tablename__ = "auth_attempts"
    __table_args__ = (
        Index("ix_auth_attempts_client_key_at", "client_key", "at"),
        Index("ix_auth_attempts_address_key_at", "address_key", "at"),
        Index("ix_auth_attempts_at", "at"),
    )

    id: int | None = Field(default=None, sa_column=Column(AutoBigInteger, primary_key=True, autoincrement=True))
    # The claimed client id when it has the shape of ours, else "invalid" (never caller text).
    client_key: str = Field(sa_column=Column(String(64), nullable=False))
    # SHA-256 of the source address: the table needs to tell sources apart, not to name them.
    address_key: str = Field(sa_column=Column(String(64), nullable=False))
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
