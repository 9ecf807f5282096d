"""Keeps the local copy of the registry's venues (``lindung.venues``)."""

from __future__ import annotations

from typing import Any

import orjson
from lindung_shared.events import Envelope
from lindung_shared.events.catalogue import VenueClosed, VenueSnapshot
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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


async def on_venue_snapshot(session: AsyncSession, envelope: Envelope[Any]) -> None:
    await upsert_venue(session, envelope.payload)


async def on_venue_closed(session: AsyncSession, envelope: Envelope[Any]) -> None:
    await close_venue(session, envelope.payload)
