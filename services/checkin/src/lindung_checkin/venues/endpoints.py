"""Live occupancy and daily statistics of a venue, for its own manager."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from lindung_shared.auth import HealthOfficerDep, Principal, Role, ensure_covers, require_roles
from lindung_shared.db import SessionDep

from lindung_checkin.venues import service
from lindung_checkin.venues.schemas import RegencySummary, VenueOccupancy, VenueStats

router = APIRouter(prefix="/v1/venues", tags=["venues"])
regency_router = APIRouter(prefix="/v1/regencies", tags=["venues"])

ManagerOrOfficer = Annotated[
    Principal, Depends(require_roles(Role.VENUE_MANAGER, Role.HEALTH_OFFICER))
]
_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "not the venue's manager, nor an officer of its jurisdiction"},
    404: {"description": "no such venue"},
}


@router.get(
    "/{venue_id}/occupancy",
    summary="How many people are inside now",
    response_model=VenueOccupancy,
    responses=_RESPONSES,
)
async def get_occupancy(
    venue_id: uuid.UUID, principal: ManagerOrOfficer, session: SessionDep, request: Request
) -> VenueOccupancy:
    return await service.occupancy(
        session, venue_id, principal, request.app.state.settings.nearly_full_percent
    )


@router.get(
    "/{venue_id}/stats",
    summary="A day's statistics: present now, admitted and refused by colour, peak",
    response_model=VenueStats,
    responses=_RESPONSES,
)
async def get_stats(
    venue_id: uuid.UUID,
    principal: ManagerOrOfficer,
    session: SessionDep,
    day: Annotated[
        date | None, Query(alias="date", description="venue-local date; default today")
    ] = None,
) -> VenueStats:
    return await service.stats(session, venue_id, principal, day)


@regency_router.get(
    "/{regency_code}/summary",
    summary="A regency's venues: people inside, case visits, contacts and visits "
    "(officers of its jurisdiction)",
    response_model=RegencySummary,
    responses={403: {"description": "not a health officer, or outside their jurisdiction"}},
)
async def get_regency_summary(
    regency_code: Annotated[str, Path(pattern=r"^\d{4}$")],
    officer: HealthOfficerDep,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=21)] = 14,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> RegencySummary:
    ensure_covers(officer, regency_code)
    return await service.regency_summary(session, regency_code, days, limit)
