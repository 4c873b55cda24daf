"""All tables, imported so that `metadata` is complete for migrations and their checks."""

from sqlmodel import SQLModel

from app.models import agency, assessment, audit, child, concern, consent, idempotency, team  # noqa: F401

metadata = SQLModel.metadata
