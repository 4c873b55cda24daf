"""Operator actions from the command line, logged like any API request.

A CLI command that changes agencies or clients runs in one transaction together with its
access-log entry; the actor is recorded as `cli:<OS user>` with the role `operator`.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import journal
from app.audit.entries import build_entries
from app.db import Database, create_api_engine
from app.http.context import RequestContext
from app.models.base import utcnow
from app.settings import Settings

OPERATOR_ROLE = "operator"


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:128]
    except (KeyError, OSError):
        return "cli:unknown"


@asynccontextmanager
async def logged_transaction(
    database: Database, actor: str, command: str, *, log_when_silent: bool = True
) -> AsyncIterator[tuple[AsyncSession, RequestContext]]:
    """A write session whose work commits with the command's log entries, or not at all: one
    entry per fact the work reported, else one bare entry (none with `log_when_silent=False`,
    for a batch that found nothing to do)."""
    context = RequestContext(request_id=uuid.uuid4().hex, method="CLI", database=database)
    context.claimed_client_id = actor
    session = database.write_session()
    try:
        yield session, context
        await session.flush()
        if context.facts or log_when_silent:
            entries = build_entries(
                context,
                status_code=200,
                route=f"cli {command}",
                action=f"cli-{command.replace(' ', '-')}",
                at=utcnow(),
            )
            for entry in entries:
                entry["role"] = OPERATOR_ROLE
            await journal.append(await session.connection(), entries)
        await session.commit()
    finally:
        await session.close()


@asynccontextmanager
async def operator_transaction(settings: Settings, command: str) -> AsyncIterator[tuple[AsyncSession, RequestContext]]:
    """A write session whose work commits with the command's log entry, or not at all."""
    database = Database(create_api_engine(settings))
    try:
        async with logged_transaction(database, cli_actor(), command) as (session, context):
            yield session, context
    finally:
        await database.dispose()
