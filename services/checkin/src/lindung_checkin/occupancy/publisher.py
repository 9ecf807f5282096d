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
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_checkin.occupancy import repository


def crowding_level(present: int, capacity: int, thresholds: Sequence[int]) -> int:
    """The highest threshold (percent) reached, 0 when below all."""
    reached = [t for t in thresholds if present * 100 >= t * capacity]
    return max(reached, default=0)


def crossed(previous_level: int, level: int, thresholds: Sequence[int]) -> list[int]:
    """Thresholds crossed upwards going from ``previous_level`` to ``level``."""
    return sorted(t for t in thresholds if previous_level < t <= level)


async def publish_once(session: AsyncSession, thresholds: Sequence[int]) -> int:
    """Stage the events of one run; returns how many venues changed. The caller commits."""
    if not await repository.take_publisher_lock(session):
        return 0
    rows = await repository.changed_since_published(session)
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
    await repository.remember_published(session, rows, levels, now)
    await repository.record_peaks(session, [r for r in rows if r.peak_day is not None])
    return len(rows)
