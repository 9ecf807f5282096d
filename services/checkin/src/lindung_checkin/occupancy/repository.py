"""SQL of the occupancy publisher: what changed since the last run, what was published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PUBLISHER_LOCK = 0x434B4F43  # "CKOC"

_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:key)")
_CHANGED = text(
    """
    SELECT vo.venue_id, vo.present, vo.peak, vo.peak_day, vn.effective_capacity, vn.manager_id,
           vn.name, coalesce(op.crowding_level, 0) AS crowding_level
    FROM venue_occupancy vo
    JOIN venues vn ON vn.venue_id = vo.venue_id
    LEFT JOIN occupancy_published op ON op.venue_id = vo.venue_id
    WHERE op.present IS DISTINCT FROM vo.present AND NOT (op.venue_id IS NULL AND vo.present = 0)
    """
)
_REMEMBER = text(
    """
    INSERT INTO occupancy_published (venue_id, present, crowding_level, published_at)
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:presents AS integer[]),
                         CAST(:levels AS integer[]), CAST(:ats AS timestamptz[]))
    ON CONFLICT (venue_id) DO UPDATE SET present = EXCLUDED.present,
        crowding_level = EXCLUDED.crowding_level, published_at = EXCLUDED.published_at
    """
)
_PEAKS = text(
    """
    INSERT INTO occupancy_peaks (venue_id, day, peak)
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:days AS date[]), CAST(:peaks AS integer[]))
    ON CONFLICT (venue_id, day) DO UPDATE SET peak = greatest(occupancy_peaks.peak, EXCLUDED.peak)
    """
)


async def take_publisher_lock(session: AsyncSession) -> bool:
    """Only one worker publishes at a time (until the transaction ends)."""
    return bool((await session.execute(_TRY_LOCK, {"key": PUBLISHER_LOCK})).scalar())


async def changed_since_published(session: AsyncSession) -> Sequence[Any]:
    """The venues whose present count differs from the last published one."""
    return (await session.execute(_CHANGED)).all()


async def remember_published(
    session: AsyncSession, rows: Sequence[Any], levels: Sequence[int], at: datetime
) -> None:
    await session.execute(
        _REMEMBER,
        {
            "ids": [r.venue_id for r in rows],
            "presents": [r.present for r in rows],
            "levels": list(levels),
            "ats": [at] * len(rows),
        },
    )


async def record_peaks(session: AsyncSession, rows: Sequence[Any]) -> None:
    if rows:
        await session.execute(
            _PEAKS,
            {
                "ids": [r.venue_id for r in rows],
                "days": [r.peak_day for r in rows],
                "peaks": [r.peak for r in rows],
            },
        )
