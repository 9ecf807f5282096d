from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_VENUE = text(
    """
    SELECT vn.venue_id, vn.manager_id, vn.timezone, vn.effective_capacity,
           coalesce(vo.present, 0) AS present, vo.peak, vo.peak_day,
           (now() AT TIME ZONE vn.timezone)::date AS local_today, now() AS at
    FROM venues vn LEFT JOIN venue_occupancy vo ON vo.venue_id = vn.venue_id
    WHERE vn.venue_id = :venue_id
    """
)
_ADMITTED = text(
    """
    SELECT colour, count(*) FILTER (WHERE counted) AS counted,
           count(*) FILTER (WHERE NOT counted) AS late
    FROM visits
    WHERE venue_id = :venue_id
      AND checked_in_at >= (CAST(:day AS date)::timestamp AT TIME ZONE :tz)
      AND checked_in_at < ((CAST(:day AS date) + 1)::timestamp AT TIME ZONE :tz)
    GROUP BY colour
    """
)
_REFUSED = text(
    """
    SELECT colour, reason, count(*) AS n
    FROM refused_attempts
    WHERE venue_id = :venue_id
      AND attempted_at >= (CAST(:day AS date)::timestamp AT TIME ZONE :tz)
      AND attempted_at < ((CAST(:day AS date) + 1)::timestamp AT TIME ZONE :tz)
    GROUP BY colour, reason
    """
)
_PEAK = text("SELECT peak FROM occupancy_peaks WHERE venue_id = :venue_id AND day = :day")


async def venue_now(session: AsyncSession, venue_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await session.execute(_VENUE, {"venue_id": venue_id})).first()
    return dict(row._mapping) if row else None


async def admitted_by_colour(
    session: AsyncSession, venue_id: uuid.UUID, day: date, tz: str
) -> list[tuple[str, int, int]]:
    result = await session.execute(_ADMITTED, {"venue_id": venue_id, "day": day, "tz": tz})
    return [(r.colour, int(r.counted), int(r.late)) for r in result]


async def refused_by_colour(
    session: AsyncSession, venue_id: uuid.UUID, day: date, tz: str
) -> list[tuple[str, str, int]]:
    result = await session.execute(_REFUSED, {"venue_id": venue_id, "day": day, "tz": tz})
    return [(r.colour, r.reason, int(r.n)) for r in result]


async def recorded_peak(session: AsyncSession, venue_id: uuid.UUID, day: date) -> int:
    peak = (await session.execute(_PEAK, {"venue_id": venue_id, "day": day})).scalar()
    return int(peak or 0)
