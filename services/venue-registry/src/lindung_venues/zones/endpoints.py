from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from lindung_shared import audit
from lindung_shared.auth import AnyPrincipal, HealthOfficerDep, ensure_covers
from lindung_shared.db import SessionDep
from lindung_shared.errors import Forbidden
from lindung_shared.events.catalogue import VenueCategory
from lindung_shared.regions import RegencyCatalogue

from lindung_venues.deps import RegenciesDep
from lindung_venues.models import CapacityRule, Zone, ZoneChange
from lindung_venues.openapi import Responses
from lindung_venues.zones import service
from lindung_venues.zones.rules import DEFAULT_LEVEL, DEFAULT_PERCENT, colour_of
from lindung_venues.zones.schemas import (
    CapacityRuleChange,
    CapacityRuleOut,
    ZoneChangeOut,
    ZoneHistoryPage,
    ZoneLevelSet,
    ZoneOut,
    ZonePage,
)

router = APIRouter(tags=["zones and capacity rules"])

RegencyPath = Annotated[
    str, Path(pattern=r"^\d{4}$", description="four-digit Kemendagri regency code")
]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
_ERRORS: Responses = {401: {"description": "no or invalid bearer token"}}
_OFFICER_ERRORS: Responses = {
    **_ERRORS,
    403: {"description": "not a health officer, or outside the officer's jurisdiction"},
}


def _zone_out(regencies: RegencyCatalogue, code: str, zone: Zone | None) -> ZoneOut:
    regency = regencies.get(code)
    level = zone.level if zone else DEFAULT_LEVEL
    return ZoneOut(
        regency_code=code,
        regency_name=regency.name if regency else None,
        level=level,
        colour=colour_of(level),
        is_set=zone is not None,
        updated_at=zone.updated_at if zone else None,
        updated_by=zone.updated_by if zone else None,
    )


def _change_out(change: ZoneChange) -> ZoneChangeOut:
    return ZoneChangeOut(
        regency_code=change.regency_code,
        level=change.level,
        colour=colour_of(change.level),
        previous_level=change.previous_level,
        note=change.note,
        changed_at=change.changed_at,
        changed_by=change.changed_by,
    )


def _rule_out(
    category: VenueCategory, rule: CapacityRule | None, venues_updated: int | None = None
) -> CapacityRuleOut:
    if rule is None:
        return CapacityRuleOut(
            category=category,
            level_1=DEFAULT_PERCENT,
            level_2=DEFAULT_PERCENT,
            level_3=DEFAULT_PERCENT,
            level_4=DEFAULT_PERCENT,
            is_default=True,
        )
    return CapacityRuleOut(
        category=category,
        level_1=rule.level_1,
        level_2=rule.level_2,
        level_3=rule.level_3,
        level_4=rule.level_4,
        is_default=False,
        updated_at=rule.updated_at,
        venues_updated=venues_updated,
    )


@router.put(
    "/v1/zones/{regency_code}",
    response_model=ZoneOut,
    summary="Set a regency's PPKM level (health officer of its jurisdiction; audited)",
    responses={**_OFFICER_ERRORS, 404: {"description": "unknown regency code"}},
)
async def set_zone_level(
    regency_code: RegencyPath,
    body: ZoneLevelSet,
    session: SessionDep,
    regencies: RegenciesDep,
    officer: HealthOfficerDep,
) -> ZoneOut:
    ensure_covers(officer, regency_code)
    zone, changed = await service.set_level(
        session, regencies, officer, regency_code, body.level, body.note or None
    )
    await audit.record(
        session,
        officer,
        "zone.level.set",
        f"regency:{regency_code}",
        body.reason,
        {"level": body.level, "venues_updated": len(changed)},
    )
    return _zone_out(regencies, regency_code, zone)


@router.get(
    "/v1/zones",
    response_model=ZonePage,
    summary="Regencies whose level has been set",
    responses=_ERRORS,
)
async def list_zones(
    session: SessionDep,
    regencies: RegenciesDep,
    _: AnyPrincipal,
    level: Annotated[int | None, Query(ge=1, le=4)] = None,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ZonePage:
    zones, total = await service.list_zones(
        session, level=level, province_code=province_code, limit=limit, offset=offset
    )
    return ZonePage(
        items=[_zone_out(regencies, z.regency_code, z) for z in zones],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/v1/zones/{regency_code}",
    response_model=ZoneOut,
    summary="A regency's PPKM level",
    responses={**_ERRORS, 404: {"description": "unknown regency code"}},
)
async def read_zone(
    regency_code: RegencyPath, session: SessionDep, regencies: RegenciesDep, _: AnyPrincipal
) -> ZoneOut:
    zone = await service.get_zone(session, regencies, regency_code)
    return _zone_out(regencies, regency_code, zone)


@router.get(
    "/v1/zones/{regency_code}/history",
    response_model=ZoneHistoryPage,
    summary="Every level change of a regency, newest first",
    responses={**_ERRORS, 404: {"description": "unknown regency code"}},
)
async def zone_history(
    regency_code: RegencyPath,
    session: SessionDep,
    regencies: RegenciesDep,
    _: AnyPrincipal,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ZoneHistoryPage:
    changes, total = await service.history(
        session, regencies, regency_code, limit=limit, offset=offset
    )
    return ZoneHistoryPage(
        items=[_change_out(c) for c in changes], total=total, limit=limit, offset=offset
    )


@router.get(
    "/v1/capacity-rules",
    response_model=list[CapacityRuleOut],
    summary="Capacity rule of every venue category (defaults included)",
    responses=_ERRORS,
)
async def list_capacity_rules(session: SessionDep, _: AnyPrincipal) -> list[CapacityRuleOut]:
    rules = await service.capacity_rules(session)
    return [_rule_out(c, rules.get(c.value)) for c in VenueCategory]


@router.get(
    "/v1/capacity-rules/{category}",
    response_model=CapacityRuleOut,
    summary="Capacity rule of a venue category",
    responses=_ERRORS,
)
async def read_capacity_rule(
    category: VenueCategory, session: SessionDep, _: AnyPrincipal
) -> CapacityRuleOut:
    rules = await service.capacity_rules(session)
    return _rule_out(category, rules.get(category.value))


@router.put(
    "/v1/capacity-rules/{category}",
    response_model=CapacityRuleOut,
    summary="Set the percent of capacity allowed per PPKM level for a category "
    "(national health officer; audited)",
    description="A category's rule holds in every regency, so only an officer of national "
    "jurisdiction sets it.",
    responses=_OFFICER_ERRORS,
)
async def set_capacity_rule(
    category: VenueCategory,
    body: CapacityRuleChange,
    session: SessionDep,
    officer: HealthOfficerDep,
) -> CapacityRuleOut:
    if officer.jurisdiction is None or officer.jurisdiction.kind != "national":
        raise Forbidden(
            "capacity rules hold nationwide: they need an officer of national jurisdiction",
            code="outside-jurisdiction",
        )
    rule, changed = await service.set_capacity_rule(session, officer, category, body)
    await audit.record(
        session,
        officer,
        "capacity_rule.set",
        f"category:{category.value}",
        body.reason,
        {**body.model_dump(exclude={"reason"}), "venues_updated": len(changed)},
    )
    return _rule_out(category, rule, venues_updated=len(changed))
