"""All tables, imported so that `metadata` is complete for migrations and their checks."""

from sqlmodel import SQLModel

from app.models import (  # noqa: F401
    agency,
    assessment,
    audit,
    child,
    concern,
    consent,
    event,
    idempotency,
    login,
    plan,
    rate_limit,
    retention,
    signal,
    team,
)

metadata = SQLModel.metadata
