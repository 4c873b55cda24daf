"""Strong ETags over a resource's representation, and If-Match preconditions."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel

from app.errors import PreconditionFailed, PreconditionRequired


def etag_of(representation: BaseModel) -> str:
    """A strong entity tag: changes whenever any byte of the JSON representation would."""
    digest = hashlib.sha256(representation.model_dump_json().encode()).hexdigest()[:32]
    return f'"{digest}"'


def require_if_match(if_match: str | None) -> str:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired("This operation needs If-Match with the record's current ETag.")
    return if_match


def check_if_match(if_match: str, current: str) -> None:
    """412 unless If-Match lists the current ETag (or is `*`). Weak tags never match."""
    candidates = [tag.strip() for tag in if_match.split(",")]
    if "*" in candidates or current in candidates:
        return
    raise PreconditionFailed("The record has changed since that ETag: fetch it again and retry.")
