"""SQL of the screening: rules, current statuses, history, and the inputs of a decision."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.models import (
    Exposure,
    HealthRecord,
    PersonStatus,
    ScreeningRule,
    StatusHistory,
)


async def rule_at(session: AsyncSession, moment: datetime) -> ScreeningRule | None:
    """The rule in force at ``moment``: the latest ``valid_from`` not after it that has not
    ended."""
    stmt = (
        select(ScreeningRule)
        .where(ScreeningRule.valid_from <= moment)
        .where((ScreeningRule.valid_to.is_(None)) | (ScreeningRule.valid_to > moment))
        .order_by(ScreeningRule.valid_from.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def next_rule_boundary(session: AsyncSession, moment: datetime) -> datetime | None:
    """The next moment after ``moment`` at which a rule starts or ends."""
    stmt = select(
        func.least(
            select(func.min(ScreeningRule.valid_from))
            .where(ScreeningRule.valid_from > moment)
            .scalar_subquery(),
            select(func.min(ScreeningRule.valid_to))
            .where(ScreeningRule.valid_to > moment)
            .scalar_subquery(),
        )
    )
    value: datetime | None = (await session.execute(stmt)).scalar_one()
    return value


async def get_rule(session: AsyncSession, rule_id: str) -> ScreeningRule | None:
    return await session.get(ScreeningRule, rule_id)


async def list_rules(session: AsyncSession) -> Sequence[ScreeningRule]:
    stmt = select(ScreeningRule).order_by(ScreeningRule.valid_from.desc())
    return (await session.execute(stmt)).scalars().all()


async def insert_rule(session: AsyncSession, rule: ScreeningRule) -> None:
    session.add(rule)
    await session.flush()


async def make_all_due(session: AsyncSession, at: datetime) -> int:
    """Bring every status's next recomputation forward to ``at`` (a rule change)."""
    result = await session.execute(
        update(PersonStatus)
        .where((PersonStatus.due_at.is_(None)) | (PersonStatus.due_at > at))
        .values(due_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def lock_status(session: AsyncSession, person_id: uuid.UUID) -> PersonStatus | None:
    stmt = select(PersonStatus).where(PersonStatus.person_id == person_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_status(session: AsyncSession, person_id: uuid.UUID) -> PersonStatus | None:
    stmt = select(PersonStatus).where(PersonStatus.person_id == person_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def claim_due(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    """Lock up to ``limit`` statuses due for recomputation; rows locked by another worker
    are skipped, so several sweepers share the work without waiting on each other."""
    stmt = (
        select(PersonStatus.person_id)
        .where(PersonStatus.due_at <= now)
        .order_by(PersonStatus.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def upsert_status(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = insert(PersonStatus).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[PersonStatus.person_id],
        set_={k: stmt.excluded[k] for k in values if k != "person_id"},
    )
    await session.execute(stmt)


async def add_history(session: AsyncSession, entry: StatusHistory) -> None:
    session.add(entry)
    await session.flush()


async def records_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[HealthRecord]:
    stmt = (
        select(HealthRecord)
        .where(HealthRecord.person_id == person_id)
        .order_by(HealthRecord.occurred_at)
        .execution_options(populate_existing=True)  # rows may have been updated in bulk
    )
    return (await session.execute(stmt)).scalars().all()


async def active_exposures(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Exposure]:
    stmt = (
        select(Exposure)
        .where(Exposure.person_id == person_id, Exposure.retracted_at.is_(None))
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalars().all()
