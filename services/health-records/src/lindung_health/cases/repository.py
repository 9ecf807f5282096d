"""SQL of confirmed cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.models import Case, SuspectedCase


async def active_cases(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Case]:
    stmt = select(Case).where(Case.person_id == person_id, Case.retracted_at.is_(None))
    return (await session.execute(stmt)).scalars().all()


async def cases_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Case]:
    stmt = select(Case).where(Case.person_id == person_id).order_by(Case.sample_taken_at)
    return (await session.execute(stmt)).scalars().all()


async def add(session: AsyncSession, case: Case) -> None:
    session.add(case)
    await session.flush()


async def active_cases_of_records(
    session: AsyncSession, record_ids: Sequence[uuid.UUID], *, other_than: uuid.UUID
) -> Sequence[Case]:
    if not record_ids:
        return []
    stmt = select(Case).where(
        Case.record_id.in_(record_ids),
        Case.retracted_at.is_(None),
        Case.person_id != other_than,
    )
    return (await session.execute(stmt)).scalars().all()


async def open_suspects(
    session: AsyncSession, person_ids: Sequence[uuid.UUID]
) -> Sequence[SuspectedCase]:
    """The open (still suspected) suspicions of these people, locked with their status."""
    stmt = (
        select(SuspectedCase)
        .where(SuspectedCase.person_id.in_(person_ids), SuspectedCase.state == "suspected")
        .order_by(SuspectedCase.person_id, SuspectedCase.suspected_at)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalars().all()


async def open_suspects_of_records(
    session: AsyncSession, record_ids: Sequence[uuid.UUID], *, other_than: uuid.UUID
) -> Sequence[SuspectedCase]:
    if not record_ids:
        return []
    stmt = select(SuspectedCase).where(
        SuspectedCase.record_id.in_(record_ids),
        SuspectedCase.state == "suspected",
        SuspectedCase.person_id != other_than,
    )
    return (await session.execute(stmt)).scalars().all()


async def suspects_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[SuspectedCase]:
    stmt = (
        select(SuspectedCase)
        .where(SuspectedCase.person_id == person_id)
        .order_by(SuspectedCase.suspected_at)
    )
    return (await session.execute(stmt)).scalars().all()
