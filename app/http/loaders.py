"""Loader dependencies: the record a path names, by the access rule, logged, or 404 — in one place.

`visible(Concern, "concern", "concern_id")` is a dependency that takes the path's id, loads the
record with the access rule evaluated in the same query (app/security/records.py), tells the
access log which record and which child the request was aimed at (refusals included) and
answers 404 — indistinguishable from "no such record" — when the caller may not see it.
`changeable(...)` is the same for a write: the row is locked for update, then the one answer to
"may the caller change it?" (`ensure_may_change`, 403) is asked. `locked(...)` locks without
asking, for writes whose writer rule depends on what is written (a plan's goal, action or review;
the decision on a mandatory report) and so is asked by the service. Routers name them as aliases:

    VisibleConcern = Annotated[Concern, Depends(visible(Concern, "concern", "concern_id"))]

A route that takes one needs no `fetch_visible` and no `context.audit` of its own.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel import SQLModel

from app.http.context import RequestContext
from app.http.deps import ContextDep
from app.security.records import ensure_may_change, fetch_visible

M = TypeVar("M", bound=SQLModel)


def visible(model: type[M], resource_type: str, id_param: str) -> Callable[..., Awaitable[M]]:
    """A dependency: the record named by the path parameter `id_param`, when the caller may see it.

    For reads it is a plain row that reads like the model (no ORM session, which costs more)."""
    return _loader(model, resource_type, id_param, for_update=False)


def changeable(model: type[M], resource_type: str, id_param: str) -> Callable[..., Awaitable[M]]:
    """A dependency: the record, locked for update, when the caller may see it (else 404) and
    may change it (else 403)."""
    return _loader(model, resource_type, id_param, for_update=True, ask_may_change=True)


def locked(model: type[M], resource_type: str, id_param: str) -> Callable[..., Awaitable[M]]:
    """A dependency: the record, locked for update, when the caller may see it (else 404); who may
    change it is the service's question (it depends on the change)."""
    return _loader(model, resource_type, id_param, for_update=True)


def _loader(
    model: type[M], resource_type: str, id_param: str, *, for_update: bool, ask_may_change: bool = False
) -> Callable[..., Awaitable[M]]:
    async def load(context: RequestContext, **path: uuid.UUID) -> M:
        record = await fetch_visible(context, model, resource_type, path[id_param], for_update=for_update)
        if ask_may_change:
            assert context.caller is not None  # fetch_visible asserted it
            await ensure_may_change(context.session(), context.caller, resource_type, record)
        return record

    # FastAPI reads the parameters from the signature: the context, and the path's id by its name
    # (a UUID, so a malformed id is 422 before anything is loaded).
    keyword = inspect.Parameter.KEYWORD_ONLY
    load.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("context", keyword, annotation=ContextDep),
            inspect.Parameter(id_param, keyword, annotation=uuid.UUID),
        ]
    )
    kind = "changeable" if ask_may_change else "locked" if for_update else "visible"
    load.__name__ = f"{kind}_{resource_type}"
    return load
