"""Running retention (gallring) as an operator action: `samhandling retention plan|run` and the
worker's daily pass.

Each purge batch commits together with one access-log entry per purged record (type, id, child:
ids only, so the child's access report shows that and when its record was purged), and every run
ends with one entry of its own, also when it found nothing to purge. `plan` only reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.models.base import utcnow
from app.ops.operator import logged_transaction
from app.services import retention
from app.services.retention_rules import RECORD_TYPES, retention_days
from app.settings import Settings

COMMAND = "retention run"


def retention_configured(settings: Settings) -> bool:
    """Whether any record type has a retention period (the default keeps everything)."""
    return any(retention_days(settings, record_type) is not None for record_type in RECORD_TYPES)


async def plan_retention(database: Database, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    async with database.read_session() as session:
        return await retention.plan(session, settings, now or utcnow())


async def run_retention(
    database: Database,
    settings: Settings,
    actor: str,
    now: datetime | None = None,
    *,
    batch_size: int = retention.BATCH_SIZE,
) -> dict[str, int]:
    """Purge what is past retention at `now`, logged as `actor`; returns the counts per type."""
    moment = now or utcnow()

    @asynccontextmanager
    async def open_batch() -> AsyncIterator[tuple[AsyncSession, retention.PurgeNote]]:
        async with logged_transaction(database, actor, COMMAND, log_when_silent=False) as (session, context):
            yield session, lambda record_type, record_id, child_id: context.audit(record_type, record_id, child_id)

    counts = await retention.purge(open_batch, settings, moment, batch_size=batch_size)
    async with logged_transaction(database, actor, COMMAND):
        pass  # the run itself, purged or not
    return counts
