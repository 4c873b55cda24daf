"""What `/readyz` answers when the process is ready."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CheckState = Literal["ok", "failed", "unknown"]


class ReadinessChecks(BaseModel):
    database: CheckState = Field(description="The database answers a query.")
    schema_revision: CheckState = Field(description="The schema is at the migration head this code expects.")
    log_writes: CheckState = Field(description="Access-log entries have been committed lately (no recent failure).")


class Readiness(BaseModel):
    status: Literal["ready"]
    revision: str
    checks: ReadinessChecks
