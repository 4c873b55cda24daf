"""Children: register-or-find by personal identity number."""

from __future__ import annotations

import uuid

from sqlalchemy import Uuid, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_ignoring_conflict
from app.errors import unprocessable
from app.models.base import new_id, table_of, utcnow
from app.models.child import Child
from app.security.identifiers import PersonalIdentityNumber

_children = table_of(Child)
# Built once, as every statement on a write's path is: building one costs about what running it does.
_BY_ID = _children.c.id == bindparam("child_id", type_=Uuid())
_CHILD_EXISTS = select(_children.c.id).where(_BY_ID)
_CHILD_LOCKED = select(_children.c.id).where(_BY_ID).with_for_update()


async def register_child(session: AsyncSession, number: PersonalIdentityNumber) -> Child:
    """The child with this number, registered now if nobody had (the answer is the same)."""
    await session.execute(
        insert_ignoring_conflict(session.get_bind().dialect.name, _children, "personnummer").values(
            id=new_id(),
            personnummer=number.digits,
            birth_date=number.birth_date,
            is_coordination_number=number.is_coordination_number,
            created_at=utcnow(),
        )
    )
    child = (await session.execute(select(Child).where(_children.c.personnummer == number.digits))).scalar_one()
    return child


async def get_child(session: AsyncSession, child_id: uuid.UUID) -> Child | None:
    return await session.get(Child, child_id)


async def require_child(session: AsyncSession, child_id: uuid.UUID) -> None:
    """A body that names an unknown child is 422."""
    exists = (await session.execute(_CHILD_EXISTS, {"child_id": child_id})).first()
    if exists is None:
        raise unprocessable(["body", "child_id"], "there is no such child: register it first")


async def lock_child(session: AsyncSession, child_id: uuid.UUID) -> None:
    """Like require_child, and hold the child's row until the transaction ends, so that writes
    whose rule spans the child's records (one open team in a circle) run one at a time.
    SQLite's write transactions are serialised already (BEGIN IMMEDIATE)."""
    exists = (await session.execute(_CHILD_LOCKED, {"child_id": child_id})).first()
    if exists is None:
        raise unprocessable(["body", "child_id"], "there is no such child: register it first")
