"""Small database probes shared by the check-in tests."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def scalar(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> Any:
    async with sessions() as session:
        return (await session.execute(text(sql), params)).scalar()


async def rows(sessions: async_sessionmaker[AsyncSession], sql: str, **params: Any) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(text(sql), params)).all())


async def present(sessions: async_sessionmaker[AsyncSession], venue_id: uuid.UUID) -> int:
    return int(
        await scalar(
            sessions, "SELECT present FROM venue_occupancy WHERE venue_id = :v", v=venue_id
        )
    )


async def visits_at(sessions: async_sessionmaker[AsyncSession], venue_id: uuid.UUID) -> int:
    return int(
        await scalar(sessions, "SELECT count(*) FROM visits WHERE venue_id = :v", v=venue_id)
    )


async def refusals_at(sessions: async_sessionmaker[AsyncSession], venue_id: uuid.UUID) -> int:
    return int(
        await scalar(
            sessions, "SELECT count(*) FROM refused_attempts WHERE venue_id = :v", v=venue_id
        )
    )


async def visit(sessions: async_sessionmaker[AsyncSession], visit_id: str) -> Any:
    found = await rows(sessions, "SELECT * FROM visits WHERE visit_id = :v", v=uuid.UUID(visit_id))
    assert len(found) == 1
    return found[0]
