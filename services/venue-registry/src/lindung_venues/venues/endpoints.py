from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from lindung_shared.auth import Principal, Role, VenueManagerDep, require_roles
from lindung_shared.db import SessionDep
from lindung_shared.events.catalogue import VenueCategory
from lindung_shared.regions import RegencyCatalogue

from lindung_venues.deps import RegenciesDep
from lindung_venues.models import Venue
from lindung_venues.openapi import Responses
from lindung_venues.venues import service
from lindung_venues.venues.repository import VenueFilter
from lindung_venues.venues.schemas import VenueCreate, VenueOut, VenuePage, VenueUpdate

router = APIRouter(prefix="/v1/venues", tags=["venues"])

ReaderDep = Annotated[Principal, Depends(require_roles(Role.VENUE_MANAGER, Role.HEALTH_OFFICER))]

_ERRORS: Responses = {
    401: {"description": "no or invalid bearer token"},
    403: {"description": "wrong role, or the venue belongs to another manager"},
    404: {"description": "unknown venue"},
}


def venue_out(venue: Venue, regencies: RegencyCatalogue) -> VenueOut:
    regency = regencies.get(venue.regency_code)
    return VenueOut.model_validate(
        {
            **{c: getattr(venue, c) for c in VenueOut.model_fields if hasattr(venue, c)},
            "regency_name": regency.name if regency else None,
            "province_name": regencies.province_name(venue.regency_code[:2]),
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=VenueOut,
    summary="Register a venue (venue manager)",
    responses={**_ERRORS, 422: {"description": "invalid field, unknown regency or category"}},
)
async def register_venue(
    body: VenueCreate, session: SessionDep, regencies: RegenciesDep, manager: VenueManagerDep
) -> VenueOut:
    return venue_out(await service.register(session, regencies, manager, body), regencies)


@router.get(
    "",
    response_model=VenuePage,
    summary="List venues: a manager's own; a health officer's all",
    responses=_ERRORS,
)
async def list_venues(
    session: SessionDep,
    regencies: RegenciesDep,
    principal: ReaderDep,
    category: VenueCategory | None = None,
    regency_code: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
    status: Literal["active", "closed"] | None = None,
    q: Annotated[str | None, Query(max_length=100, description="name contains")] = None,
    manager_id: Annotated[
        str | None, Query(max_length=200, description="health officers only")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> VenuePage:
    where = VenueFilter(
        manager_id=manager_id,
        category=category.value if category else None,
        regency_code=regency_code,
        status=status,
        name_contains=q,
    )
    items, total = await service.page(session, principal, where, limit=limit, offset=offset)
    return VenuePage(
        items=[venue_out(v, regencies) for v in items], total=total, limit=limit, offset=offset
    )


@router.get("/{venue_id}", response_model=VenueOut, summary="Read a venue", responses=_ERRORS)
async def read_venue(
    venue_id: uuid.UUID, session: SessionDep, regencies: RegenciesDep, principal: ReaderDep
) -> VenueOut:
    return venue_out(await service.read(session, principal, venue_id), regencies)


@router.patch(
    "/{venue_id}",
    response_model=VenueOut,
    summary="Change a venue (its manager)",
    responses={
        **_ERRORS,
        409: {"description": "venue closed, or an entrance removed that has a live QR code"},
        422: {"description": "invalid field"},
    },
)
async def update_venue(
    venue_id: uuid.UUID,
    body: VenueUpdate,
    session: SessionDep,
    regencies: RegenciesDep,
    manager: VenueManagerDep,
) -> VenueOut:
    venue = await service.update(session, regencies, manager, venue_id, body)
    return venue_out(venue, regencies)


_CLOSE_RESPONSES: Responses = {**_ERRORS, 409: {"description": "already closed"}}


@router.post(
    "/{venue_id}/close",
    response_model=VenueOut,
    summary="Close a venue for good (its manager); its QR codes stop working",
    responses=_CLOSE_RESPONSES,
)
async def close_venue(
    venue_id: uuid.UUID, session: SessionDep, regencies: RegenciesDep, manager: VenueManagerDep
) -> VenueOut:
    return venue_out(await service.close(session, manager, venue_id), regencies)


@router.delete(
    "/{venue_id}",
    response_model=VenueOut,
    summary="Close a venue (same as POST .../close; the record is kept)",
    responses=_CLOSE_RESPONSES,
)
async def delete_venue(
    venue_id: uuid.UUID, session: SessionDep, regencies: RegenciesDep, manager: VenueManagerDep
) -> VenueOut:
    return venue_out(await service.close(session, manager, venue_id), regencies)
