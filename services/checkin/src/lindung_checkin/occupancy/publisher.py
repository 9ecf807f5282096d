"""Coalesced occupancy events, from the worker rather than the hot path.

The scan writes no outbox row: every second the publisher compares each venue's present count
with what it last published and emits one ``occupancy.changed`` per changed venue, plus a
``venue.crowding`` for each threshold (80 %, 100 %) crossed upwards since the last run. A
threshold is re-armed once the venue falls back below it, so each crossing alerts once.
Only one worker publishes at a time (transaction-scoped advisory lock).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from lindung_shared.events import Envelope
from lindung_shared.events.catalogue import OccupancyChanged, VenueCrowding, make_event
from lindung_shared.outbox import add_events
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


def crowding_level(present: int, capacity: int, thresholds: Sequence[int]) -> int:
    """The highest threshold (percent) reached, 0 when below all."""
    reached = [t for t in thresholds if present * 100 >= t * capacity]
    return max(reached, default=0)


def crossed(previous_level: int, level: int, thresholds: Sequence[int]) -> list[int]:
    """Thresholds crossed upwards going from ``previous_level`` to ``level``."""
    return sorted(t for t in thresholds if previous_level < t <= level)


async def publish_once(session: AsyncSession, thresholds: Sequence[int]) -> int:
    """Stage the events of one run; returns how many venues changed. The caller commits."""
    if not (await session.execute(_TRY_LOCK, {"key": PUBLISHER_LOCK})).scalar():
        return 0
    rows = (await session.execute(_CHANGED)).all()
    if not rows:
        return 0
    now = datetime.now(UTC)
    events: list[Envelope[Any]] = []
    levels: list[int] = []
    for r in rows:
        events.append(
            make_event(
                "occupancy.changed",
                OccupancyChanged(
                    venue_id=r.venue_id, present=r.present, capacity=r.effective_capacity, at=now
                ),
            )
        )
        level = crowding_level(r.present, r.effective_capacity, thresholds)
        for threshold in crossed(r.crowding_level, level, thresholds):
            events.append(
                make_event(
                    "venue.crowding",
                    VenueCrowding(
                        venue_id=r.venue_id,
                        manager_id=r.manager_id,
                        venue_name=r.name,
                        present=r.present,
                        capacity=r.effective_capacity,
                        threshold_percent=threshold,
                        at=now,
                    ),
                )
            )
        levels.append(level)
    await add_events(session, events)
    await session.execute(
        _REMEMBER,
        {
            "ids": [r.venue_id for r in rows],
            "presents": [r.present for r in rows],
            "levels": levels,
            "ats": [now] * len(rows),
        },
    )
    peaks = [r for r in rows if r.peak_day is not None]
    if peaks:
        await session.execute(
            _PEAKS,
            {
                "ids": [r.venue_id for r in peaks],
                "days": [r.peak_day for r in peaks],
                "peaks": [r.peak for r in peaks],
            },
        )
    return len(rows)
