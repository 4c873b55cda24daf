"""Liveness and readiness: for the platform, not for integrators; never logged."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text

from app.errors import ServiceUnavailable
from app.http.deps import DatabaseDep, HeadRevisionDep

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
    responses={503: {"description": "The database is unreachable or not migrated to the head."}},
)
async def readyz(database: DatabaseDep, expected: HeadRevisionDep) -> dict[str, str]:
    """The database answers and its schema is at the migration head."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with database.read_session() as session:
                current = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as error:
        raise ServiceUnavailable(f"The database is not reachable: {type(error).__name__}.") from error
    if current != expected:
        raise ServiceUnavailable(f"The database schema is at {current}, not at {expected}.")
    return {"status": "ready", "revision": expected}
