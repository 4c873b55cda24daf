"""Who is calling: the verified identity behind a request's access token."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    client_id: str
    agency_id: str
    role: str
    scopes: frozenset[str]
    jti: str

    def has_scopes(self, needed: frozenset[str]) -> bool:
        return needed <= self.scopes
