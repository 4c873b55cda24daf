"""Dependency aliases routes share: the request context, its session, the cursor codec."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.http.context import RequestContext, get_context
from app.http.paging import CursorCodec
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


ContextDep = Annotated[RequestContext, Depends(context_dependency)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CursorsDep = Annotated[CursorCodec, Depends(get_cursors)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
