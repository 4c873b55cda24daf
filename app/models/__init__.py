"""All tables, imported so that `metadata` is complete for migrations and their checks."""

from sqlmodel import SQLModel

from app.models import agency, audit, child, concern, consent, idempotency  # noqa: F401

metadata = SQLModel.metadata
