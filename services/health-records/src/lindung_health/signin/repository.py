"""SQL of one-time sign-in codes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.models import SignInCode


async def add(session: AsyncSession, code: SignInCode) -> None:
    session.add(code)
    await session.flush()


async def recent_count(session: AsyncSession, person_id: uuid.UUID, since: datetime) -> int:
    stmt = select(func.count()).where(
        SignInCode.person_id == person_id, SignInCode.created_at >= since
    )
    return int((await session.execute(stmt)).scalar_one())


async def lock(session: AsyncSession, code_id: uuid.UUID) -> SignInCode | None:
    stmt = select(SignInCode).where(SignInCode.id == code_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()
