from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import orjson
from lindung_shared.events.catalogue import VenueClosed, VenueSnapshot
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_VENUE = text(
    """
    SELECT vn.venue_id, vn.manager_id, vn.regency_code, vn.timezone, vn.effective_capacity,
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
_HOURLY = text(
    """
    SELECT 'admitted' AS kind, extract(hour FROM checked_in_at AT TIME ZONE :tz)::int AS hour,
           count(*) AS n
    FROM visits
    WHERE venue_id = :venue_id AND counted
      AND checked_in_at >= (CAST(:day AS date)::timestamp AT TIME ZONE :tz)
      AND checked_in_at < ((CAST(:day AS date) + 1)::timestamp AT TIME ZONE :tz)
    GROUP BY 2
    UNION ALL
    SELECT 'refused', extract(hour FROM attempted_at AT TIME ZONE :tz)::int, count(*)
    FROM refused_attempts
    WHERE venue_id = :venue_id
      AND attempted_at >= (CAST(:day AS date)::timestamp AT TIME ZONE :tz)
      AND attempted_at < ((CAST(:day AS date) + 1)::timestamp AT TIME ZONE :tz)
    GROUP BY 2
    """
)
#: Per venue of a regency (the check-in service's copy of the venues): case visits and
#: close contacts reported in the window, and visits admitted by colour in it.
_REGENCY = text(
    """
    SELECT vn.venue_id, vn.name, vn.category, vn.effective_capacity,
           coalesce(vo.present, 0) AS present,
           (SELECT count(DISTINCT rcv.case_id) FROM reported_case_visits rcv
             WHERE rcv.venue_id = vn.venue_id AND rcv.visit_start >= :since
               AND rcv.retracted_at IS NULL) AS case_visits,
           (SELECT count(*) FROM reported_exposures re
             WHERE re.venue_id = vn.venue_id AND re.overlap_start >= :since
               AND re.retracted_at IS NULL) AS contacts_notified,
           (SELECT count(*) FROM visits v
             WHERE v.venue_id = vn.venue_id AND v.checked_in_at >= :since) AS visits,
           (SELECT count(*) FROM visits v
             WHERE v.venue_id = vn.venue_id AND v.checked_in_at >= :since
               AND v.colour = 'green') AS green_visits
    FROM venues vn LEFT JOIN venue_occupancy vo ON vo.venue_id = vn.venue_id
    WHERE vn.regency_code = :regency_code AND vn.status = 'active'
    ORDER BY vn.name, vn.venue_id
    LIMIT :limit
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


async def hourly(
    session: AsyncSession, venue_id: uuid.UUID, day: date, tz: str
) -> dict[str, list[int]]:
    series = {"admitted": [0] * 24, "refused": [0] * 24}
    result = await session.execute(_HOURLY, {"venue_id": venue_id, "day": day, "tz": tz})
    for r in result:
        series[r.kind][int(r.hour)] += int(r.n)
    return series


async def regency_venues(
    session: AsyncSession, regency_code: str, since: datetime, limit: int
) -> list[dict[str, Any]]:
    result = await session.execute(
        _REGENCY, {"regency_code": regency_code, "since": since, "limit": limit}
    )
    return [dict(r._mapping) for r in result]


# --- the local copy of the registry's venues (written by the venues consumer) ---------

_UPSERT = text(
    """
    INSERT INTO venues (venue_id, manager_id, name, category, regency_code, timezone, capacity,
                        effective_capacity, max_stay_minutes, opening_hours, status, updated_at,
                        operating_since)
    VALUES (:venue_id, :manager_id, :name, :category, :regency_code, :timezone, :capacity,
            :effective_capacity, :max_stay_minutes, CAST(:opening_hours AS jsonb), :status,
            :updated_at, :operating_since)
    ON CONFLICT (venue_id) DO UPDATE SET
        manager_id = EXCLUDED.manager_id, name = EXCLUDED.name, category = EXCLUDED.category,
        regency_code = EXCLUDED.regency_code, timezone = EXCLUDED.timezone,
        capacity = EXCLUDED.capacity, effective_capacity = EXCLUDED.effective_capacity,
        max_stay_minutes = EXCLUDED.max_stay_minutes, opening_hours = EXCLUDED.opening_hours,
        operating_since = coalesce(EXCLUDED.operating_since, venues.operating_since),
        status = CASE WHEN venues.status = 'closed' THEN 'closed' ELSE EXCLUDED.status END,
        updated_at = EXCLUDED.updated_at
    WHERE venues.updated_at <= EXCLUDED.updated_at
    """
)
_ENSURE_OCCUPANCY = text(
    "INSERT INTO venue_occupancy (venue_id) VALUES (:venue_id) ON CONFLICT DO NOTHING"
)
_REPLAY_PENDING = text("SELECT checkin_replay_pending(:venue_id, 100000)")
_CLOSE = text("UPDATE venues SET status = 'closed' WHERE venue_id = :venue_id")
_CHECK_OUT_EVERYONE = text(
    """
    WITH gone AS (
        DELETE FROM open_visits WHERE venue_id = :venue_id
        RETURNING visit_id, checked_in_at, auto_checkout_at, auto_checkout_method, counted
    ), closed AS (
        UPDATE visits vi SET (checked_out_at, checkout_method) = (
            SELECT e.o_checked_out_at, e.o_checkout_method
            FROM checkin_visit_end(g.checked_in_at, g.auto_checkout_at, g.auto_checkout_method,
                                   CAST(:at AS timestamptz), 'venue_closed') e)
        FROM gone g
        WHERE vi.visit_id = g.visit_id AND vi.checked_in_at = g.checked_in_at
    )
    UPDATE venue_occupancy vo
    SET present = greatest(vo.present - (SELECT count(*) FROM gone WHERE counted), 0)
    WHERE vo.venue_id = :venue_id
    """
)


async def upsert_venue(session: AsyncSession, venue: VenueSnapshot) -> None:
    await session.execute(
        _UPSERT,
        {
            "venue_id": venue.venue_id,
            "manager_id": venue.manager_id,
            "name": venue.name,
            "category": venue.category.value,
            "regency_code": venue.regency_code,
            "timezone": venue.timezone,
            "capacity": venue.capacity,
            "effective_capacity": venue.effective_capacity,
            "max_stay_minutes": venue.max_stay_minutes,
            "opening_hours": orjson.dumps(
                [h.model_dump(mode="json") for h in venue.opening_hours]
            ).decode(),
            "status": venue.status,
            "updated_at": venue.updated_at,
            "operating_since": venue.operating_since,
        },
    )
    await session.execute(_ENSURE_OCCUPANCY, {"venue_id": venue.venue_id})
    # Offline visits uploaded before the venue was known here are recorded now, in the
    # same transaction (the worker's pending job catches any uploaded meanwhile).
    await session.execute(_REPLAY_PENDING, {"venue_id": venue.venue_id})
    if venue.status == "closed":
        await session.execute(
            _CHECK_OUT_EVERYONE, {"venue_id": venue.venue_id, "at": venue.updated_at}
        )


async def close_venue(session: AsyncSession, closed: VenueClosed) -> None:
    await session.execute(_CLOSE, {"venue_id": closed.venue_id})
    await session.execute(
        _CHECK_OUT_EVERYONE, {"venue_id": closed.venue_id, "at": closed.closed_at}
    )
