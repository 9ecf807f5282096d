"""SQL of the FHIR records."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.models import HealthRecord


async def lock_by_source_key(session: AsyncSession, source_key: str) -> HealthRecord | None:
    stmt = (
        select(HealthRecord)
        .where(HealthRecord.source_key == source_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert_if_new(session: AsyncSession, values: dict[str, Any]) -> uuid.UUID | None:
    stmt = (
        insert(HealthRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[HealthRecord.source_key])
        .returning(HealthRecord.id)
    )
    created: uuid.UUID | None = (await session.execute(stmt)).scalar_one_or_none()
    return created


async def replace(session: AsyncSession, record_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(
        update(HealthRecord)
        .where(HealthRecord.id == record_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
