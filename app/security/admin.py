"""What an `admin` client may administer: its own agency, or — a platform admin — every agency.

An admin of one agency that could create clients for another agency could read that agency's
child data through them; so an agency's admin manages its own agency's clients and reads its own
agency only. A *platform* admin, which only the operator makes (`samhandling clients add --role
admin --platform`), manages every agency and client. The flag is read from the client's row on
each admin request (admin requests are few), never trusted from a token.

Auditor clients read every agency's access-log entries, so only a platform admin creates them:
an agency's admin minting one would see which agencies touch which children across the county.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.enums import Role
from app.errors import Forbidden
from app.models.agency import Client
from app.models.base import table_of
from app.security.caller import Caller

_clients = table_of(Client)
PLATFORM_ONLY_ROLES = frozenset({Role.auditor})


@dataclass(frozen=True)
class AdminAuthority:
    agency_id: str
    platform: bool

    def may_manage(self, agency_id: str) -> bool:
        return self.platform or agency_id == self.agency_id

    def require_agency(self, agency_id: str) -> None:
        if not self.may_manage(agency_id):
            raise Forbidden("An agency's admin acts within its own agency only.")

    def require_platform(self, what: str) -> None:
        if not self.platform:
            raise Forbidden(f"Only a platform admin may {what}.")

    def require_may_create(self, agency_id: str, role: Role) -> None:
        self.require_agency(agency_id)
        if role in PLATFORM_ONLY_ROLES:
            self.require_platform(f"create {role.value} clients (they read every agency's access log)")


async def admin_authority(session: AsyncSession, caller: Caller) -> AdminAuthority:
    row = (
        await session.execute(
            select(_clients.c.platform).where(
                _clients.c.client_id == caller.client_id, _clients.c.agency_id == caller.agency_id
            )
        )
    ).first()
    return AdminAuthority(agency_id=caller.agency_id, platform=bool(row is not None and row.platform))
