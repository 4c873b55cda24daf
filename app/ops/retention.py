"""Running retention (gallring) as an operator action: `samhandling retention plan|run` and the
worker's daily pass.

Each purge batch commits together with one access-log entry per purged record (type, id, child:
ids only, so the child's access report shows that and when its record was purged), and every run
ends with one entry of its own, also when it found nothing to purge. `plan` only reads.

With `SAMHANDLING_RETENTION_ACCESS_LOG_DAYS` set, both also cover the access log's months
(app/audit/log_retention.py): `plan` lists each month past retention and what it waits for, `run`
drops the due ones, oldest first, each in one transaction with its log entry
(`access_log_partition`, the partition's name).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.log_retention import past_retention, retire_month
from app.audit.partitions import is_partitioned
from app.db import Database
from app.models.base import utcnow
from app.ops.operator import logged_transaction
from app.security.keys import KeyRing
from app.services import retention
from app.services.retention_rules import RECORD_TYPES, retention_days
from app.settings import Settings

COMMAND = "retention run"
LOG_KEY = "access_log"
LOG_PARTITION = "access_log_partition"  # the resource type of a dropped month's log entry
NOT_PARTITIONED = "the log is one table here (SQLite, or not partitioned): log retention needs PostgreSQL"


def retention_configured(settings: Settings) -> bool:
    """Whether any record type, or the log, has a retention period (the default keeps everything)."""
    records = any(retention_days(settings, record_type) is not None for record_type in RECORD_TYPES)
    return records or settings.retention_access_log_days is not None


async def plan_retention(database: Database, settings: Settings, now: datetime | None = None) -> dict[str, object]:
    """What a run would purge now, per record type; and the log's months past retention."""
    moment = now or utcnow()
    async with database.read_session() as session:
        plan: dict[str, object] = dict(await retention.plan(session, settings, moment))
    days = settings.retention_access_log_days
    if days is not None:
        keys = KeyRing.load(settings.signing_key_file)
        async with database.engine.connect() as connection:
            months = await connection.run_sync(past_retention, keys, days, moment)
            partitioned = await connection.run_sync(is_partitioned)
        plan[LOG_KEY] = _log_summary(partitioned, [month.summary() for month in months])
    return plan


def _log_summary(partitioned: bool, months: list[dict[str, object]]) -> dict[str, object]:
    if not partitioned:
        return {"supported": False, "reason": NOT_PARTITIONED, "months": []}
    return {"supported": True, "months": months}


async def retire_log_months(
    database: Database, settings: Settings, actor: str, now: datetime | None = None
) -> list[dict[str, object]]:
    """Drop the log's due months, oldest first, each with its log entry; what was dropped."""
    days = settings.retention_access_log_days
    if days is None:
        return []
    moment = now or utcnow()
    keys = KeyRing.load(settings.signing_key_file)
    async with database.engine.connect() as connection:
        months = await connection.run_sync(past_retention, keys, days, moment)
    dropped: list[dict[str, object]] = []
    for month in months:
        if not month.due:
            break  # a month that waits holds back the later ones
        async with logged_transaction(database, actor, COMMAND, log_when_silent=False) as (session, context):
            connection = await session.connection()
            retired = await connection.run_sync(retire_month, keys, month.partition, days, moment)
            if retired is None:
                break
            context.audit(LOG_PARTITION, retired.partition)
        dropped.append(retired.summary())
    return dropped


async def run_retention(
    database: Database,
    settings: Settings,
    actor: str,
    now: datetime | None = None,
    *,
    batch_size: int = retention.BATCH_SIZE,
) -> dict[str, object]:
    """Purge what is past retention at `now`, logged as `actor`; returns the counts per type
    (and, with log retention set, the log's months dropped)."""
    moment = now or utcnow()

    @asynccontextmanager
    async def open_batch() -> AsyncIterator[tuple[AsyncSession, retention.PurgeNote]]:
        async with logged_transaction(database, actor, COMMAND, log_when_silent=False) as (session, context):
            yield session, lambda record_type, record_id, child_id: context.audit(record_type, record_id, child_id)

    outcome: dict[str, object] = dict(await retention.purge(open_batch, settings, moment, batch_size=batch_size))
    if settings.retention_access_log_days is not None:
        outcome[LOG_KEY] = {"dropped": await retire_log_months(database, settings, actor, moment)}
    async with logged_transaction(database, actor, COMMAND):
        pass  # the run itself, purged or not
    return outcome
