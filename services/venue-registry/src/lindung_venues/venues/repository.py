from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from lindung_shared.jurisdiction import Jurisdiction
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_venues.models import Venue


@dataclass(frozen=True)
class VenueFilter:
    manager_id: str | None = None
    category: str | None = None
    regency_code: str | None = None
    status: str | None = None
    name_contains: str | None = None
    #: An officer's reach: only venues in its regencies.
    within: Jurisdiction | None = None


class VenueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, venue_id: uuid.UUID, *, for_update: bool = False) -> Venue | None:
        statement = select(Venue).where(Venue.id == venue_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, venue: Venue) -> None:
        self.session.add(venue)
        await self.session.flush()

    async def page(
        self, where: VenueFilter, *, limit: int, offset: int
    ) -> tuple[Sequence[Venue], int]:
        statement = _filtered(select(Venue), where)
        total = await self.session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = await self.session.execute(
            statement.order_by(Venue.created_at.desc(), Venue.id).limit(limit).offset(offset)
        )
        venues = rows.scalars().all()
        return venues, int(total or 0)

    async def active_in_regency(self, regency_code: str) -> Sequence[Venue]:
        rows = await self.session.execute(
            select(Venue)
            .where(Venue.regency_code == regency_code, Venue.status == "active")
            .order_by(Venue.id)
            .with_for_update()
        )
        return rows.scalars().all()

    async def active_of_category(self, category: str) -> Sequence[Venue]:
        rows = await self.session.execute(
            select(Venue)
            .where(Venue.category == category, Venue.status == "active")
            .order_by(Venue.id)
            .with_for_update()
        )
        return rows.scalars().all()


def _filtered(statement: Select[Venue], where: VenueFilter) -> Select[Venue]:
    if where.manager_id is not None:
        statement = statement.where(Venue.manager_id == where.manager_id)
    if where.category is not None:
        statement = statement.where(Venue.category == where.category)
    if where.regency_code is not None:
        statement = statement.where(Venue.regency_code == where.regency_code)
    if where.status is not None:
        statement = statement.where(Venue.status == where.status)
    if where.within is not None and where.within.kind == "provinces":
        statement = statement.where(func.left(Venue.regency_code, 2).in_(where.within.codes))
    elif where.within is not None and where.within.kind == "regencies":
        statement = statement.where(Venue.regency_code.in_(where.within.codes))
    if where.name_contains:
        escaped = where.name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Venue.name.ilike(f"%{escaped}%", escape="\\"))
    return statement
