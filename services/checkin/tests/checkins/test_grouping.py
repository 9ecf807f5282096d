"""Group commit: concurrent scans share one statement, each still gets its own answer."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from lindung_checkin.checkins.grouping import ScanGrouper
from lindung_checkin.checkins.repository import Scan
from lindung_checkin.database import create_pool

from ..helpers import present, visits_at


def _scan(person_id, venue_id, **extra) -> Scan:
    values = {
        "person_id": person_id,
        "venue_id": venue_id,
        "qr_id": None,
        "entrance": "main",
        "at": datetime.now(UTC),
        "client_id": None,
        "source": "online",
        "live": True,
        "rule_version": "sector-2021-09",
        "visit_id": uuid.uuid4(),
    }
    values.update(extra)
    return Scan(**values)


async def test_concurrent_scans_are_grouped_and_capacity_stays_exact(
    db_settings, make_venue, citizen_factory, set_colour, sessions
):
    venue = await make_venue(capacity=7)
    other = await make_venue(capacity=100)
    people = [citizen_factory().person_id for _ in range(20)]
    for p in people:
        await set_colour(p, "green")
    pool = await create_pool(db_settings)
    try:
        grouper = ScanGrouper(pool, max_group=8, max_in_flight=1)
        # Half the people are inside the other venue first: they cross over in the groups.
        for p in people[::2]:
            await grouper.scan(_scan(p, other.venue_id))
        sent_before = grouper.groups_sent
        rows = await asyncio.gather(*(grouper.scan(_scan(p, venue.venue_id)) for p in people))
        groups = grouper.groups_sent - sent_before
    finally:
        await pool.close()
    assert groups < len(people)  # scans really travelled together
    outcomes = [r["o_outcome"] for r in rows]
    assert outcomes.count("admitted") == 7
    assert outcomes.count("refused") == 13
    assert all(r["o_reason"] == "venue_full" for r in rows if r["o_outcome"] == "refused")
    assert await present(sessions, venue.venue_id) == 7
    assert await visits_at(sessions, venue.venue_id) == 7
    assert await present(sessions, other.venue_id) == 0  # everyone left it ("elsewhere")


async def test_a_failing_scan_does_not_sink_its_group(
    db_settings, make_venue, citizen_factory, set_colour
):
    venue = await make_venue(capacity=100)
    good = [citizen_factory().person_id for _ in range(5)]
    bad_person = citizen_factory().person_id
    for p in [*good, bad_person]:
        await set_colour(p, "green")
    pool = await create_pool(db_settings)
    try:
        grouper = ScanGrouper(pool, max_group=10, max_in_flight=1)
        blocker = asyncio.ensure_future(grouper.scan(_scan(uuid.uuid4(), venue.venue_id)))
        # An invalid source violates a check constraint: that scan fails, the others commit.
        bad = _scan(bad_person, venue.venue_id, source="carrier-pigeon")
        results = await asyncio.gather(
            *(grouper.scan(_scan(p, venue.venue_id)) for p in good),
            grouper.scan(bad),
            return_exceptions=True,
        )
        await blocker
    finally:
        await pool.close()
    assert [r["o_outcome"] for r in results[:5]] == ["admitted"] * 5
    assert isinstance(results[5], Exception)
