"""Venues: registration, changes and closing, each announced through the outbox."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from lindung_shared import outbox
from lindung_shared.auth import Principal, Role
from lindung_shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from lindung_shared.events import make_event
from lindung_shared.events.catalogue import VenueClosed
from lindung_shared.regions import RegencyCatalogue
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_venues import capacity, locks
from lindung_venues.clock import utcnow
from lindung_venues.models import Venue
from lindung_venues.qr_codes.repository import QrCodeRepository
from lindung_venues.venues.events import venue_event
from lindung_venues.venues.repository import VenueFilter, VenueRepository
from lindung_venues.venues.schemas import OPERATING_SINCE_MAX_DAYS, VenueCreate, VenueUpdate

#: Indonesia's extent with a margin (Weh island ~6.1 N, Rote ~11.0 S, 95.0 E to 141.0 E).
LATITUDE_RANGE = (-11.5, 6.5)
LONGITUDE_RANGE = (94.5, 141.5)


def check_regency(regencies: RegencyCatalogue, code: str) -> None:
    if code not in regencies:
        raise Unprocessable(
            f"regency code {code} is not a known Kemendagri regency code",
            code="unknown-regency",
            extra={"field": "regency_code"},
        )


def check_coordinates(latitude: float, longitude: float) -> None:
    inside = (
        LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]
        and LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]
    )
    if not inside:
        raise Unprocessable(
            "the coordinates lie outside Indonesia "
            f"(latitude {LATITUDE_RANGE[0]}..{LATITUDE_RANGE[1]}, "
            f"longitude {LONGITUDE_RANGE[0]}..{LONGITUDE_RANGE[1]})",
            code="coordinates-out-of-range",
            extra={"field": "latitude/longitude"},
        )


#: A registering client's clock may run a little ahead of ours.
_CLOCK_SKEW = timedelta(minutes=5)


def operating_since(given: datetime | None, now: datetime) -> datetime:
    """When the venue started receiving visitors: the registration time unless the manager
    says earlier (a venue moved from an earlier check-in system), within the visits' retention."""
    if given is None:
        return now
    if given > now + _CLOCK_SKEW:
        raise Unprocessable(
            "operating_since is in the future",
            code="operating-since-in-future",
            extra={"field": "operating_since"},
        )
    if given < now - timedelta(days=OPERATING_SINCE_MAX_DAYS):
        raise Unprocessable(
            f"operating_since may be at most {OPERATING_SINCE_MAX_DAYS} days back",
            code="operating-since-too-old",
            extra={"field": "operating_since"},
        )
    return min(given, now)


def ensure_can_read(principal: Principal, venue: Venue) -> None:
    """Its manager, or a health officer whose jurisdiction reaches the venue's regency."""
    if principal.has(Role.HEALTH_OFFICER) and principal.covers(venue.regency_code):
        return
    if principal.has(Role.HEALTH_OFFICER) and not principal.has(Role.VENUE_MANAGER):
        raise Forbidden("this venue is outside your jurisdiction", code="outside-jurisdiction")
    ensure_owner(principal, venue)


def ensure_owner(principal: Principal, venue: Venue) -> None:
    if not principal.has(Role.VENUE_MANAGER) or venue.manager_id != principal.subject:
        raise Forbidden("this venue is managed by someone else", code="not-your-venue")


def ensure_active(venue: Venue) -> None:
    if venue.status != "active":
        raise Conflict("this venue is closed", code="venue-closed")


async def load(session: AsyncSession, venue_id: uuid.UUID, *, for_update: bool = False) -> Venue:
    venue = await VenueRepository(session).get(venue_id, for_update=for_update)
    if venue is None:
        raise NotFound(f"there is no venue {venue_id}", code="venue-not-found")
    return venue


async def register(
    session: AsyncSession, regencies: RegencyCatalogue, manager: Principal, data: VenueCreate
) -> Venue:
    check_regency(regencies, data.regency_code)
    check_coordinates(data.latitude, data.longitude)
    await locks.shared(session, locks.CAPACITY_INPUTS)
    now = utcnow()
    venue = Venue(
        id=uuid.uuid4(),
        manager_id=manager.subject,
        name=data.name,
        category=data.category.value,
        address=data.address,
        regency_code=data.regency_code,
        timezone=data.timezone or regencies.timezone_of(data.regency_code),
        latitude=data.latitude,
        longitude=data.longitude,
        capacity=data.capacity,
        effective_capacity=await capacity.effective_capacity_of(
            session,
            category=data.category.value,
            regency_code=data.regency_code,
            capacity=data.capacity,
        ),
        max_stay_minutes=data.max_stay_minutes,
        opening_hours=[h.model_dump() for h in data.opening_hours],
        entrances=list(data.entrances),
        status="active",
        created_at=now,
        operating_since=operating_since(data.operating_since, now),
        updated_at=now,
    )
    await VenueRepository(session).add(venue)
    await outbox.add_events(session, [venue_event("venue.registered", venue)])
    return venue


async def read(session: AsyncSession, principal: Principal, venue_id: uuid.UUID) -> Venue:
    venue = await load(session, venue_id)
    ensure_can_read(principal, venue)
    return venue


async def update(
    session: AsyncSession,
    regencies: RegencyCatalogue,
    manager: Principal,
    venue_id: uuid.UUID,
    patch: VenueUpdate,
) -> Venue:
    """Apply ``patch``. An entrance with an unrevoked QR code cannot be removed until its
    code is revoked (a poster on the wall would point at an entrance that no longer exists)."""
    await locks.shared(session, locks.CAPACITY_INPUTS)
    venue = await load(session, venue_id, for_update=True)
    ensure_owner(manager, venue)
    ensure_active(venue)
    given = patch.model_fields_set
    if not given:
        return venue
    if "regency_code" in given and patch.regency_code is not None:
        check_regency(regencies, patch.regency_code)
    latitude = patch.latitude if patch.latitude is not None else venue.latitude
    longitude = patch.longitude if patch.longitude is not None else venue.longitude
    check_coordinates(latitude, longitude)
    if patch.entrances is not None:
        kept = set(patch.entrances)
        live = await QrCodeRepository(session).live_entrances(venue.id)
        orphaned = sorted(e for e in live if e not in kept)
        if orphaned:
            raise Conflict(
                "revoke the QR codes of these entrances before removing them: "
                + ", ".join(orphaned),
                code="entrance-has-qr-codes",
                extra={"entrances": orphaned},
            )

    for name in ("name", "address", "regency_code", "capacity", "max_stay_minutes"):
        if name in given:
            setattr(venue, name, getattr(patch, name))
    venue.latitude, venue.longitude = latitude, longitude
    if patch.category is not None:
        venue.category = patch.category.value
    if patch.opening_hours is not None:
        venue.opening_hours = [h.model_dump() for h in patch.opening_hours]
    if patch.entrances is not None:
        venue.entrances = list(patch.entrances)
    if "timezone" in given or "regency_code" in given:
        venue.timezone = patch.timezone or regencies.timezone_of(venue.regency_code)
    venue.effective_capacity = await capacity.effective_capacity_of(
        session,
        category=venue.category,
        regency_code=venue.regency_code,
        capacity=venue.capacity,
    )
    venue.updated_at = utcnow()
    await session.flush()
    await outbox.add_events(session, [venue_event("venue.updated", venue)])
    return venue


async def close(session: AsyncSession, manager: Principal, venue_id: uuid.UUID) -> Venue:
    venue = await load(session, venue_id, for_update=True)
    ensure_owner(manager, venue)
    ensure_active(venue)
    now = utcnow()
    venue.status = "closed"
    venue.closed_at = now
    venue.updated_at = now
    await session.flush()
    await outbox.add_events(
        session,
        [make_event("venue.closed", VenueClosed(venue_id=venue.id, closed_at=now))],
    )
    return venue


async def page(
    session: AsyncSession,
    principal: Principal,
    where: VenueFilter,
    *,
    limit: int,
    offset: int,
) -> tuple[Sequence[Venue], int]:
    """A manager sees their own venues; a health officer those in their jurisdiction (or one
    manager's there)."""
    if principal.has(Role.HEALTH_OFFICER):
        if principal.jurisdiction is None:
            return [], 0
        where = dataclasses.replace(where, within=principal.jurisdiction)
    else:
        where = VenueFilter(
            manager_id=principal.subject,
            category=where.category,
            regency_code=where.regency_code,
            status=where.status,
            name_contains=where.name_contains,
        )
    return await VenueRepository(session).page(where, limit=limit, offset=offset)
