"""Automatic check-out when a visit's maximum stay or the venue's closing time passes.

Safe with several worker instances: each run claims due open visits with
``FOR UPDATE SKIP LOCKED`` (two sweepers never take the same visit, and neither waits for a
scan in progress), and takes occupancy rows in venue id order like the scan does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

_SWEEP = text(
    """
    WITH due AS (
        SELECT person_id FROM open_visits
        WHERE auto_checkout_at <= CAST(:now AS timestamptz)
        ORDER BY auto_checkout_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM open_visits ov USING due WHERE ov.person_id = due.person_id
        RETURNING ov.visit_id, ov.venue_id, ov.checked_in_at, ov.auto_checkout_at,
                  ov.auto_checkout_method, ov.counted
    ), closed AS (
        UPDATE visits vi SET (checked_out_at, checkout_method) = (
            SELECT e.o_checked_out_at, e.o_checkout_method
            FROM checkin_visit_end(g.checked_in_at, g.auto_checkout_at, g.auto_checkout_method,
                                   CAST(:now AS timestamptz), 'max_stay') e)
        FROM gone g
        WHERE vi.visit_id = g.visit_id AND vi.checked_in_at = g.checked_in_at
          AND vi.checked_out_at IS NULL
    )
    SELECT venue_id, count(*) FILTER (WHERE counted) AS leaving, count(*) AS swept
    FROM gone GROUP BY venue_id ORDER BY venue_id
    """
)
_LOCK_VENUES = text(
    "SELECT venue_id FROM venue_occupancy WHERE venue_id = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY venue_id FOR UPDATE"
)
_RELEASE = text(
    "UPDATE venue_occupancy vo SET present = greatest(vo.present - d.n, 0) "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:ns AS integer[])) AS d(venue_id, n) "
    "WHERE vo.venue_id = d.venue_id"
)


async def sweep_once(session: AsyncSession, now: datetime, limit: int) -> int:
    """Check out one batch of due visits; returns how many. The caller commits."""
    rows = (await session.execute(_SWEEP, {"now": now, "limit": limit})).all()
    releases = [(r.venue_id, int(r.leaving)) for r in rows if r.leaving]
    if releases:
        ids = [v for v, _ in releases]
        await session.execute(_LOCK_VENUES, {"ids": ids})
        await session.execute(_RELEASE, {"ids": ids, "ns": [n for _, n in releases]})
    return sum(int(r.swept) for r in rows)


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], now: datetime, limit: int) -> int:
    """Sweep until nothing is due; each batch is its own transaction."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            swept = await sweep_once(session, now, limit)
        total += swept
        if swept < limit:
            return total
