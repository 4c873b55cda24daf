"""Dependency aliases routes share: the request context, its session, the cursor codec."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import RequestContext, get_context
from app.pagination import CursorCodec


def get_session(request: Request) -> AsyncSession:
    return get_context(request).session()


def get_cursors(request: Request) -> CursorCodec:
    cursors: CursorCodec = request.app.state.cursors
    return cursors


ContextDep = Annotated[RequestContext, Depends(get_context)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CursorsDep = Annotated[CursorCodec, Depends(get_cursors)]
