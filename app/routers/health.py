"""Liveness and readiness: for the platform, not for integrators; never logged."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from sqlalchemy import text

from app.audit.sequencer import HorizonHolder, horizon_holder
from app.errors import ServiceUnavailable
from app.http.deps import DatabaseDep, HeadRevisionDep, LogWriteHealthDep
from app.observability import LOG_CHAIN_HELD_SECONDS
from app.schemas.health import CheckState, Readiness, ReadinessChecks

logger = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

READINESS_TIMEOUT_SECONDS = 3.0


@router.get("/healthz", operation_id="operations-healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """The process is up. Says nothing about the database."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="operations-readyz",
    summary="Readiness",
    responses={
        503: {
            "description": "The database is unreachable, not migrated to the head, or this process's recent "
            "access-log commits failed (a full disk); `checks` says which, `detail` why."
        }
    },
)
async def readyz(database: DatabaseDep, expected: HeadRevisionDep, log_writes: LogWriteHealthDep) -> Readiness:
    """The database answers, its schema is at the migration head, and access-log entries commit.

    A database that answers reads but cannot commit (a full disk) refuses every request with
    503, so readiness also fails while this process's last log commit failed within
    `SAMHANDLING_READINESS_WRITE_FAILURE_SECONDS` and none has succeeded since.
    """
    checks: dict[str, CheckState] = {"database": "unknown", "schema_revision": "unknown", "log_writes": "ok"}
    problems: list[str] = []
    held: HorizonHolder | None = None
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with database.read_session() as session:
                current = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
                held = await session.run_sync(lambda sync: horizon_holder(sync.connection()))
    except Exception as error:
        checks["database"] = "failed"
        problems.append(f"The database is not reachable: {type(error).__name__}.")
    else:
        checks["database"] = "ok"
        checks["schema_revision"] = "ok" if current == expected else "failed"
        if current != expected:
            problems.append(f"The database schema is at {current}, not at {expected}.")
    write_problem = log_writes.problem()
    if write_problem is not None:
        checks["log_writes"] = "failed"
        problems.append(write_problem)
    if problems:
        unavailable = ServiceUnavailable(" ".join(problems))
        unavailable.extra["checks"] = checks
        raise unavailable
    return Readiness(
        status="ready",
        revision=expected,
        checks=ReadinessChecks(**checks),
        log_chain_held_seconds=_note_chain_holder(held),
    )


HELD_LONG_SECONDS = 5.0


def _note_chain_holder(held: HorizonHolder | None) -> float | None:
    """The metric, and for a long hold the server log with what an operator needs to find it.
    Not a readiness failure: every instance would drop out of the balancer for one stuck session."""
    LOG_CHAIN_HELD_SECONDS.set(held.seconds if held else 0.0)
    if held is None:
        return None
    if held.seconds > HELD_LONG_SECONDS:
        logger.warning(
            "the access log's chain waits for PostgreSQL backend %d (%s) in a transaction for %.1f s",
            held.pid,
            held.state,
            held.seconds,
        )
    return round(held.seconds, 3)
