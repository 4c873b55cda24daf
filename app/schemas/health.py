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
    log_chain_held_seconds: float | None = Field(
        default=None,
        description="How long the oldest open writing transaction of the service has run: the access log's chain, "
        "and with it the event feed, waits for it (an operator's or another tool's transactions never hold it). "
        "Null on SQLite or when none is open; its process id is in the server log when it exceeds 5 s.",
    )
