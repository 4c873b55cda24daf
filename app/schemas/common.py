"""Shared schema pieces: pages, bounded text types."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

# One line of text: no control characters (NUL included — PostgreSQL cannot store it).
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# Free text: line breaks and tabs allowed, other control characters not.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=LINE_PATTERN)]
ShortName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=LINE_PATTERN)]
Purpose = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=TEXT_PATTERN)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=TEXT_PATTERN)]
Description = Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=TEXT_PATTERN)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=TEXT_PATTERN)]


class StrictInput(BaseModel):
    """Request bodies accept only the fields a caller may set; anything else is 422."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
