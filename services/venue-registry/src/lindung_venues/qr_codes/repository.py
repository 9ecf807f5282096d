from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_venues.models import QrCode, QrSigningKey


class QrCodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, venue_id: uuid.UUID, qr_id: uuid.UUID, *, for_update: bool = False
    ) -> QrCode | None:
        statement = select(QrCode).where(QrCode.id == qr_id, QrCode.venue_id == venue_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def live_for_entrance(self, venue_id: uuid.UUID, entrance: str) -> QrCode | None:
        result = await self.session.execute(
            select(QrCode).where(
                QrCode.venue_id == venue_id,
                QrCode.entrance == entrance,
                QrCode.revoked_at.is_(None),
            )
        )
        return result.scalar_one_or_none()

    async def live_entrances(self, venue_id: uuid.UUID) -> list[str]:
        result = await self.session.execute(
            select(QrCode.entrance).where(QrCode.venue_id == venue_id, QrCode.revoked_at.is_(None))
        )
        return list(result.scalars().all())

    async def of_venue(
        self, venue_id: uuid.UUID, *, include_revoked: bool
    ) -> Sequence[tuple[QrCode, str]]:
        """Codes of a venue with the status of the key that signed each."""
        statement = (
            select(QrCode, QrSigningKey.status)
            .join(QrSigningKey, QrSigningKey.key_id == QrCode.key_id)
            .where(QrCode.venue_id == venue_id)
            .order_by(QrCode.issued_at.desc(), QrCode.id)
        )
        if not include_revoked:
            statement = statement.where(QrCode.revoked_at.is_(None))
        return [(code, status) for code, status in (await self.session.execute(statement)).all()]

    async def key_status(self, key_id: str) -> str | None:
        status: str | None = await self.session.scalar(
            select(QrSigningKey.status).where(QrSigningKey.key_id == key_id)
        )
        return status

    async def add(self, code: QrCode) -> None:
        self.session.add(code)
        await self.session.flush()
