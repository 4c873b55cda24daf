"""Dependency aliases routes share: the request context, its session, and the app's services.

The services are the ones the app factory (app/main.py) builds once per process and keeps in
`app.state`; routers name them through these aliases and never read `request.app.state` themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.sequencer import Sequencer
from app.audit.write_health import LogWriteHealth
from app.db import Database
from app.http.context import RequestContext, get_context
from app.http.paging import CursorCodec
from app.security.keys import KeyRing
from app.security.login_throttle import LoginThrottle
from app.security.tokens import TokenService
from app.services.statistics import StatisticsCache
from app.settings import Settings

# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in its thread
# pool, a hop that costs more than these functions do.


async def context_dependency(request: Request) -> RequestContext:
    return get_context(request)


async def get_session(request: Request) -> AsyncSession:
    return get_context(request).session()


async def get_cursors(request: Request) -> CursorCodec:
    cursors: CursorCodec = request.app.state.cursors
    return cursors


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_head_revision(request: Request) -> str:
    """The migration head this code expects the database at."""
    revision: str = request.app.state.head_revision
    return revision


async def get_log_write_health(request: Request) -> LogWriteHealth:
    health: LogWriteHealth = request.app.state.log_write_health
    return health


async def get_tokens(request: Request) -> TokenService:
    tokens: TokenService = request.app.state.tokens
    return tokens


async def get_keys(request: Request) -> KeyRing:
    """The service's signing keys (tokens, checkpoints, tree heads, extracts)."""
    tokens: TokenService = request.app.state.tokens
    return tokens.keys


async def get_login_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


async def get_sequencer(request: Request) -> Sequencer:
    sequencer: Sequencer = request.app.state.sequencer
    return sequencer


async def get_statistics_cache(request: Request) -> StatisticsCache:
    cache: StatisticsCache = request.app.state.statistics
    return cache


ContextDep = Annotated[RequestContext, Depends(context_dependency)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CursorsDep = Annotated[CursorCodec, Depends(get_cursors)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
HeadRevisionDep = Annotated[str, Depends(get_head_revision)]
LogWriteHealthDep = Annotated[LogWriteHealth, Depends(get_log_write_health)]
TokensDep = Annotated[TokenService, Depends(get_tokens)]
KeysDep = Annotated[KeyRing, Depends(get_keys)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
SequencerDep = Annotated[Sequencer, Depends(get_sequencer)]
StatisticsCacheDep = Annotated[StatisticsCache, Depends(get_statistics_cache)]
