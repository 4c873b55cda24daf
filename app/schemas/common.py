"""Shared schema pieces: pages, bounded text types."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

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


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> Any:
    """Only RFC 3339 text with an offset: no bare numbers, no local times without a zone."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2026-11-22T08:30:00+01:00")
    return value


def _in_utc_range(value: datetime) -> datetime:
    """Refuse a time whose UTC form is not a date (0001-01-01T00:00:00+23:59 is in year 0).

    Every stored and compared time is UTC: such a value would fail later, deep in a query or a
    comparison, as a 500 — so it is a 422 here, for every timestamp a caller can send.
    """
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("lies outside the range of UTC timestamps (0001-01-01 to 9999-12-31 in UTC)") from None
    return value


Timestamp = Annotated[datetime, BeforeValidator(_rfc3339), AfterValidator(_in_utc_range)]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    """Only `YYYY-MM-DD`: pydantic would also take a number of seconds as a date (`date=0` was
    read as 1970-01-01), which the spec's `format: date` does not allow."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


CalendarDate = Annotated[date, BeforeValidator(_iso_date)]


class UniqueItems:
    """A list whose items are distinct — refused with 422 otherwise, and `uniqueItems` in the spec,
    so a body the spec allows is never refused for a repeated item (`Annotated[list[X], UniqueItems()]`).
    """

    def __init__(self, message: str = "each value may appear once") -> None:
        self.message = message

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        def distinct(values: list[Any]) -> list[Any]:
            if len(set(values)) != len(values):
                raise ValueError(self.message)
            return values

        return core_schema.no_info_after_validator_function(distinct, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["uniqueItems"] = True
        return json_schema


class StrictInput(BaseModel):
    """Request bodies accept only the fields a caller may set; anything else is 422."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
