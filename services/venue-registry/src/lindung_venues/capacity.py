"""Effective capacity: a venue's capacity after the rule for its category at its zone's level.

Venues store their effective capacity; whenever an input changes (the venue itself, its
zone's level, or its category's rule) it is recomputed in the same transaction, and every
venue whose effective capacity changed is announced again as ``venue.updated``.
"""

from __future__ import annotations

from collections.abc import Sequence

from lindung_shared import outbox
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_venues.clock import utcnow
from lindung_venues.models import CapacityRule, Venue
from lindung_venues.venues.events import venue_event
from lindung_venues.zones.repository import CapacityRuleRepository, ZoneRepository
from lindung_venues.zones.rules import DEFAULT_LEVEL, DEFAULT_PERCENT, effective_capacity


def percent_at(rule: CapacityRule | None, level: int) -> int:
    if rule is None:
        return DEFAULT_PERCENT
    percent: int = getattr(rule, f"level_{level}")
    return percent


async def effective_capacity_of(
    session: AsyncSession, *, category: str, regency_code: str, capacity: int
) -> int:
    level = (await ZoneRepository(session).levels([regency_code])).get(regency_code, DEFAULT_LEVEL)
    rule = await CapacityRuleRepository(session).get(category)
    return effective_capacity(capacity, percent_at(rule, level))


async def recompute(session: AsyncSession, venues: Sequence[Venue]) -> list[Venue]:
    """Bring each venue's effective capacity up to date; announce and return the changed."""
    if not venues:
        return []
    levels = await ZoneRepository(session).levels(v.regency_code for v in venues)
    rules = {r.category: r for r in await CapacityRuleRepository(session).all()}
    changed: list[Venue] = []
    now = utcnow()
    for venue in venues:
        level = levels.get(venue.regency_code, DEFAULT_LEVEL)
        updated = effective_capacity(venue.capacity, percent_at(rules.get(venue.category), level))
        if updated != venue.effective_capacity:
            venue.effective_capacity = updated
            venue.updated_at = now
            changed.append(venue)
    if changed:
        await session.flush()
        await outbox.add_events(session, [venue_event("venue.updated", v) for v in changed])
    return changed
