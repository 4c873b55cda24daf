"""Strong ETags over a resource's representation, and If-Match preconditions."""

from __future__ import annotations

import hashlib
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Response
from pydantic import BaseModel

from app.errors import PreconditionFailed, PreconditionRequired

P = TypeVar("P", bound=BaseModel)


def etag_of(representation: BaseModel) -> str:
    """A strong entity tag: changes whenever any byte of the JSON representation would."""
    digest = hashlib.sha256(representation.model_dump_json().encode()).hexdigest()[:32]
    return f'"{digest}"'


def with_etag(response: Response, representation: P) -> P:
    """The one way a route answers a single record: its representation, with its ETag."""
    response.headers["ETag"] = etag_of(representation)
    return representation


def require_if_match(if_match: str | None) -> str:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired("This operation needs If-Match with the record's current ETag.")
    return if_match


async def _if_match_required(
    if_match: Annotated[
        str | None, Header(alias="If-Match", description="The ETag you read; required (428 without it).")
    ] = None,
) -> str:
    return require_if_match(if_match)


# Declared before the record's loader, so that a missing If-Match is 428 before the record loads.
IfMatchRequired = Annotated[str, Depends(_if_match_required)]


def check_if_match(if_match: str, current: str) -> None:
    """412 unless If-Match lists the current ETag (or is `*`). Weak tags never match."""
    candidates = [tag.strip() for tag in if_match.split(",")]
    if "*" in candidates or current in candidates:
        return
    raise PreconditionFailed("The record has changed since that ETag: fetch it again and retry.")
