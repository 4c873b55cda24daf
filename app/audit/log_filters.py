"""The access log's filters for auditors: what `GET /api/v1/access-log` may be asked, as SQL.

Strict on purpose: a misspelt filter (`child=` for `child_id=`) used to be ignored, and the
auditor got the whole log believing it was one child's. Unknown query parameters are refused by
the router (app/routers/strict_query.py); here every known one becomes a condition in the query.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement

from app.audit.queries import log


@dataclass(frozen=True)
class LogFilters:
    child_id: uuid.UUID | None = None
    client_id: str | None = None
    agency_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    access_basis: str | None = None
    purpose_of_use: str | None = None

    # Filters that compare a column for equality; the time window is the other two.
    _EQUALITY = (
        "child_id",
        "client_id",
        "agency_id",
        "outcome",
        "action",
        "resource_type",
        "resource_id",
        "access_basis",
        "purpose_of_use",
    )

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = [
            log.c[name] == getattr(self, name) for name in self._EQUALITY if getattr(self, name) is not None
        ]
        if self.since is not None:
            found.append(log.c.at >= self.since)
        if self.until is not None:
            found.append(log.c.at < self.until)
        return found

    def binding(self) -> dict[str, Any]:
        """What a cursor is bound to: a page's next cursor is refused under other filters."""
        return asdict(self)
