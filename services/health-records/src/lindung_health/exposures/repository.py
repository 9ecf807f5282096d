"""SQL of exposures reported by the check-in service."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.models import Exposure


async def insert_if_new(session: AsyncSession, values: dict[str, object]) -> bool:
    stmt = (
        insert(Exposure)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Exposure.id])
        .returning(Exposure.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def retract(
    session: AsyncSession, exposure_id: uuid.UUID, person_id: uuid.UUID, at: datetime
) -> bool:
    result = await session.execute(
        update(Exposure)
        .where(
            Exposure.id == exposure_id,
            Exposure.person_id == person_id,
            Exposure.retracted_at.is_(None),
        )
        .values(retracted_at=at)
    )
    return bool(getattr(result, "rowcount", 0))
