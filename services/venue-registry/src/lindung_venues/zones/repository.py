from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_venues.models import CapacityRule, Zone, ZoneChange


class ZoneRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, regency_code: str, *, for_update: bool = False) -> Zone | None:
        statement = select(Zone).where(Zone.regency_code == regency_code)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def levels(self, regency_codes: Iterable[str]) -> dict[str, int]:
        codes = sorted(set(regency_codes))
        if not codes:
            return {}
        result = await self.session.execute(
            select(Zone.regency_code, Zone.level).where(Zone.regency_code.in_(codes))
        )
        return {code: level for code, level in result.all()}

    async def page(
        self, *, level: int | None, province_code: str | None, limit: int, offset: int
    ) -> tuple[Sequence[Zone], int]:
        statement = select(Zone)
        if level is not None:
            statement = statement.where(Zone.level == level)
        if province_code is not None:
            statement = statement.where(Zone.regency_code.startswith(province_code))
        total = await self.session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = await self.session.execute(
            statement.order_by(Zone.regency_code).limit(limit).offset(offset)
        )
        return rows.scalars().all(), int(total or 0)

    async def save(self, zone: Zone, change: ZoneChange) -> None:
        self.session.add(zone)
        self.session.add(change)
        await self.session.flush()

    async def history(
        self, regency_code: str, *, limit: int, offset: int
    ) -> tuple[Sequence[ZoneChange], int]:
        where = ZoneChange.regency_code == regency_code
        total = await self.session.scalar(select(func.count()).where(where))
        rows = await self.session.execute(
            select(ZoneChange)
            .where(where)
            .order_by(ZoneChange.changed_at.desc(), ZoneChange.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return rows.scalars().all(), int(total or 0)


class CapacityRuleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, category: str) -> CapacityRule | None:
        return await self.session.get(CapacityRule, category)

    async def all(self) -> Sequence[CapacityRule]:
        rows = await self.session.execute(select(CapacityRule).order_by(CapacityRule.category))
        return rows.scalars().all()

    async def save(self, rule: CapacityRule) -> None:
        self.session.add(rule)
        await self.session.flush()
