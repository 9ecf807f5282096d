from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_venues.models import QrSigningKey


class QrKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key_id: str) -> QrSigningKey | None:
        return await self.session.get(QrSigningKey, key_id)

    async def active(self) -> QrSigningKey | None:
        result = await self.session.execute(
            select(QrSigningKey).where(QrSigningKey.status == "active")
        )
        return result.scalar_one_or_none()

    async def with_status(self, *statuses: str) -> Sequence[QrSigningKey]:
        result = await self.session.execute(
            select(QrSigningKey)
            .where(QrSigningKey.status.in_(statuses))
            .order_by(QrSigningKey.created_at.desc())
        )
        return result.scalars().all()

    async def all(self) -> Sequence[QrSigningKey]:
        result = await self.session.execute(
            select(QrSigningKey).order_by(QrSigningKey.created_at.desc())
        )
        return result.scalars().all()

    async def add(self, key: QrSigningKey) -> None:
        self.session.add(key)
        await self.session.flush()
