"""SQL of the officer audit log (INSERT and SELECT only: the table refuses the rest)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.models import OfficerAudit


async def append(
    session: AsyncSession,
    *,
    officer_id: str,
    person_id: uuid.UUID | None,
    action: str,
    purpose: str,
    at: datetime,
) -> None:
    session.add(
        OfficerAudit(
            officer_id=officer_id, person_id=person_id, action=action, purpose=purpose, at=at
        )
    )
    await session.flush()


async def search(
    session: AsyncSession,
    *,
    person_id: uuid.UUID | None,
    officer_id: str | None,
    before_id: int | None,
    limit: int,
) -> Sequence[OfficerAudit]:
    stmt = select(OfficerAudit).order_by(OfficerAudit.id.desc()).limit(limit)
    if person_id is not None:
        stmt = stmt.where(OfficerAudit.person_id == person_id)
    if officer_id is not None:
        stmt = stmt.where(OfficerAudit.officer_id == officer_id)
    if before_id is not None:
        stmt = stmt.where(OfficerAudit.id < before_id)
    return (await session.execute(stmt)).scalars().all()
