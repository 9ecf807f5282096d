"""Zone levels per regency (with history) and capacity rules per venue category.

A change to either re-computes the effective capacity of the affected venues in the same
transaction, and each venue whose effective capacity changed is announced again.
"""

from __future__ import annotations

from collections.abc import Sequence

from lindung_shared import outbox
from lindung_shared.auth import Principal
from lindung_shared.errors import NotFound
from lindung_shared.events import make_event
from lindung_shared.events.catalogue import VenueCategory, ZoneLevelChanged
from lindung_shared.regions import RegencyCatalogue
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_venues import capacity, locks
from lindung_venues.clock import utcnow
from lindung_venues.models import CapacityRule, Venue, Zone, ZoneChange
from lindung_venues.venues.repository import VenueRepository
from lindung_venues.zones.repository import CapacityRuleRepository, ZoneRepository
from lindung_venues.zones.rules import colour_of
from lindung_venues.zones.schemas import CapacityRuleSet


def known_regency(regencies: RegencyCatalogue, code: str) -> None:
    if code not in regencies:
        raise NotFound(
            f"regency code {code} is not a known Kemendagri regency code", code="unknown-regency"
        )


async def set_level(
    session: AsyncSession,
    regencies: RegencyCatalogue,
    officer: Principal,
    regency_code: str,
    level: int,
    note: str | None,
) -> tuple[Zone, list[Venue]]:
    """Set a regency's level. Setting the level it already has changes nothing."""
    known_regency(regencies, regency_code)
    await locks.exclusive(session, locks.CAPACITY_INPUTS)
    repo = ZoneRepository(session)
    zone = await repo.get(regency_code, for_update=True)
    previous = zone.level if zone else None
    if zone is not None and previous == level:
        return zone, []
    now = utcnow()
    if zone is None:
        zone = Zone(regency_code=regency_code, level=level, updated_at=now, updated_by="")
    zone.level, zone.updated_at, zone.updated_by = level, now, officer.subject
    change = ZoneChange(
        regency_code=regency_code,
        level=level,
        previous_level=previous,
        note=note,
        changed_at=now,
        changed_by=officer.subject,
    )
    await repo.save(zone, change)
    await outbox.add_events(
        session,
        [
            make_event(
                "zone.level_changed",
                ZoneLevelChanged(
                    regency_code=regency_code,
                    level=level,
                    previous_level=previous,
                    colour=colour_of(level),
                    changed_at=now,
                ),
            )
        ],
    )
    affected = await VenueRepository(session).active_in_regency(regency_code)
    return zone, await capacity.recompute(session, affected)


async def get_zone(
    session: AsyncSession, regencies: RegencyCatalogue, regency_code: str
) -> Zone | None:
    known_regency(regencies, regency_code)
    return await ZoneRepository(session).get(regency_code)


async def list_zones(
    session: AsyncSession, *, level: int | None, province_code: str | None, limit: int, offset: int
) -> tuple[Sequence[Zone], int]:
    return await ZoneRepository(session).page(
        level=level, province_code=province_code, limit=limit, offset=offset
    )


async def history(
    session: AsyncSession,
    regencies: RegencyCatalogue,
    regency_code: str,
    *,
    limit: int,
    offset: int,
) -> tuple[Sequence[ZoneChange], int]:
    known_regency(regencies, regency_code)
    return await ZoneRepository(session).history(regency_code, limit=limit, offset=offset)


async def set_capacity_rule(
    session: AsyncSession, officer: Principal, category: VenueCategory, percents: CapacityRuleSet
) -> tuple[CapacityRule, list[Venue]]:
    await locks.exclusive(session, locks.CAPACITY_INPUTS)
    repo = CapacityRuleRepository(session)
    rule = await repo.get(category.value)
    if rule is None:
        rule = CapacityRule(category=category.value)
    rule.level_1, rule.level_2 = percents.level_1, percents.level_2
    rule.level_3, rule.level_4 = percents.level_3, percents.level_4
    rule.updated_at, rule.updated_by = utcnow(), officer.subject
    await repo.save(rule)
    affected = await VenueRepository(session).active_of_category(category.value)
    return rule, await capacity.recompute(session, affected)


async def capacity_rules(session: AsyncSession) -> dict[str, CapacityRule]:
    return {r.category: r for r in await CapacityRuleRepository(session).all()}
