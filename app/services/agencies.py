"""Agencies: registering them and looking them up."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.errors import AgencyAlreadyExists
from app.models.agency import Agency
from app.schemas.agency import AgencyCreate


async def create_agency(session: AsyncSession, data: AgencyCreate) -> Agency:
    agency = Agency(**data.model_dump())
    session.add(agency)
    try:
        await session.flush()
    except IntegrityError:
        raise AgencyAlreadyExists(f"An agency with id {data.id!r} already exists.") from None
    return agency


async def list_agencies(session: AsyncSession, after: str | None, limit: int, only: str | None = None) -> list[Agency]:
    """Agencies by id — all, or (`only`) one."""
    statement = select(Agency).order_by(col(Agency.id)).limit(limit)
    if only is not None:
        statement = statement.where(col(Agency.id) == only)
    if after is not None:
        statement = statement.where(col(Agency.id) > after)
    return list((await session.scalars(statement)).all())


async def get_agency(session: AsyncSession, agency_id: str) -> Agency | None:
    return await session.get(Agency, agency_id)


async def agency_kinds(session: AsyncSession, agency_ids: Iterable[str]) -> dict[str, str]:
    """Kind by agency id, for the ids that exist."""
    ids = list(set(agency_ids))
    if not ids:
        return {}
    rows = await session.execute(select(Agency.id, Agency.kind).where(col(Agency.id).in_(ids)))
    return {row.id: row.kind for row in rows}
