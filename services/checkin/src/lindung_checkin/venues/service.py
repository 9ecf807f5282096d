"""Occupancy and daily statistics for a venue's own manager (and the health officers of
its regency's jurisdiction)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lindung_shared.auth import Principal, Role, ensure_covers
from lindung_shared.errors import Forbidden, NotFound
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_checkin.venues import repository
from lindung_checkin.venues.schemas import (
    RegencySummary,
    RegencyVenue,
    VenueOccupancy,
    VenueStats,
)


async def _venue_for(
    session: AsyncSession, venue_id: uuid.UUID, principal: Principal
) -> dict[str, Any]:
    venue = await repository.venue_now(session, venue_id)
    if venue is None:
        raise NotFound("no such venue", code="venue-not-found")
    if venue["manager_id"] == principal.subject and principal.has(Role.VENUE_MANAGER):
        return venue
    if principal.has(Role.HEALTH_OFFICER):
        ensure_covers(principal, venue["regency_code"])
        return venue
    raise Forbidden("only the venue's own manager may see this", code="not-your-venue")


def state_of(present: int, capacity: int, nearly_full_percent: int) -> str:
    if present >= capacity:
        return "full"
    if present * 100 >= nearly_full_percent * capacity:
        return "nearly_full"
    return "open"


async def occupancy(
    session: AsyncSession, venue_id: uuid.UUID, principal: Principal, nearly_full_percent: int
) -> VenueOccupancy:
    venue = await _venue_for(session, venue_id, principal)
    present, capacity = int(venue["present"]), int(venue["effective_capacity"])
    return VenueOccupancy(
        venue_id=venue_id,
        present=present,
        capacity=capacity,
        percent=round(present * 100 / capacity, 1),
        state=state_of(present, capacity, nearly_full_percent),  # type: ignore[arg-type]
        at=venue["at"],
    )


async def stats(
    session: AsyncSession, venue_id: uuid.UUID, principal: Principal, day: date | None
) -> VenueStats:
    venue = await _venue_for(session, venue_id, principal)
    tz = venue["timezone"]
    day = day or venue["local_today"]
    admitted: dict[str, int] = {}
    late = 0
    for colour, counted, late_n in await repository.admitted_by_colour(session, venue_id, day, tz):
        admitted[colour] = counted
        late += late_n
    refused: dict[str, int] = defaultdict(int)
    by_reason: dict[str, int] = defaultdict(int)
    for colour, reason, n in await repository.refused_by_colour(session, venue_id, day, tz):
        refused[colour] += n
        by_reason[reason] += n
    by_hour = await repository.hourly(session, venue_id, day, tz)
    peak = await repository.recorded_peak(session, venue_id, day)
    if venue["peak_day"] == day:
        peak = max(peak, int(venue["peak"] or 0))
    return VenueStats(
        venue_id=venue_id,
        date=day,
        timezone=tz,
        present=int(venue["present"]),
        capacity=int(venue["effective_capacity"]),
        peak=peak,
        admitted=admitted,
        admitted_total=sum(admitted.values()),
        offline_late=late,
        refused=dict(refused),
        refused_by_reason=dict(by_reason),
        refused_total=sum(refused.values()),
        admitted_by_hour=by_hour["admitted"],
        refused_by_hour=by_hour["refused"],
    )


async def regency_summary(
    session: AsyncSession, regency_code: str, days: int, limit: int
) -> RegencySummary:
    since = datetime.now(UTC) - timedelta(days=days)
    rows = await repository.regency_venues(session, regency_code, since, limit)
    venues = [
        RegencyVenue(
            venue_id=r["venue_id"],
            name=r["name"],
            category=r["category"],
            present=int(r["present"]),
            capacity=int(r["effective_capacity"]),
            case_visits=int(r["case_visits"]),
            contacts_notified=int(r["contacts_notified"]),
            visits=int(r["visits"]),
            green_visits=int(r["green_visits"]),
        )
        for r in rows
    ]
    visits = sum(v.visits for v in venues)
    return RegencySummary(
        regency_code=regency_code,
        days=days,
        since=since,
        venues=venues,
        case_visits=sum(v.case_visits for v in venues),
        contacts_notified=sum(v.contacts_notified for v in venues),
        visits=visits,
        green_share=(sum(v.green_visits for v in venues) / visits) if visits else None,
    )
