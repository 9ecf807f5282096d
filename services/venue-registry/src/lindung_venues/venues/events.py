"""The venue as announced to other services."""

from __future__ import annotations

from typing import Any

from lindung_shared.events import Envelope, make_event
from lindung_shared.events.catalogue import OpeningHours, VenueCategory, VenueSnapshot

from lindung_venues.models import Venue


def snapshot(venue: Venue) -> VenueSnapshot:
    return VenueSnapshot(
        venue_id=venue.id,
        manager_id=venue.manager_id,
        name=venue.name,
        category=VenueCategory(venue.category),
        regency_code=venue.regency_code,
        timezone=venue.timezone,  # type: ignore[arg-type]
        latitude=venue.latitude,
        longitude=venue.longitude,
        capacity=venue.capacity,
        effective_capacity=venue.effective_capacity,
        max_stay_minutes=venue.max_stay_minutes,
        opening_hours=[OpeningHours.model_validate(h) for h in venue.opening_hours],
        status=venue.status,  # type: ignore[arg-type]
        operating_since=venue.operating_since,
        updated_at=venue.updated_at,
    )


def venue_event(event_type: str, venue: Venue) -> Envelope[Any]:
    return make_event(event_type, snapshot(venue), occurred_at=venue.updated_at)
