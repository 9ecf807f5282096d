"""The venue copy's handlers: closing a venue ends every open visit there."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from lindung_checkin.checkins.repository import scan
from lindung_checkin.database import create_pool
from lindung_checkin.venues.repository import close_venue, upsert_venue
from lindung_checkin.zones.handlers import apply_zone_change
from lindung_shared.events.catalogue import VenueClosed, ZoneLevelChanged

from ..helpers import present, scalar, visit


async def test_closing_a_venue_checks_everyone_out(
    client, signer, make_venue, citizen_factory, set_colour, sessions
):
    venue = await make_venue()
    visit_ids = []
    for _ in range(3):
        citizen = citizen_factory()
        await set_colour(citizen.person_id, "green")
        body = (
            await client.post(
                "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=citizen.headers
            )
        ).json()
        visit_ids.append(body["visit_id"])
    async with sessions() as session, session.begin():
        await close_venue(
            session, VenueClosed(venue_id=venue.venue_id, closed_at=datetime.now(UTC))
        )
    assert await present(sessions, venue.venue_id) == 0
    for visit_id in visit_ids:
        assert (await visit(sessions, visit_id)).checkout_method == "venue_closed"
    # A late, stale snapshot does not reopen it.
    async with sessions() as session, session.begin():
        await upsert_venue(
            session, venue.model_copy(update={"updated_at": venue.updated_at - timedelta(hours=1)})
        )
    assert (
        await scalar(sessions, "SELECT status FROM venues WHERE venue_id = :v", v=venue.venue_id)
        == "closed"
    )


async def test_a_zone_that_is_not_turning_red_alerts_nobody(sessions, make_venue):
    regency = f"{uuid.uuid4().int % 9000 + 1000}"
    await make_venue(regency_code=regency)
    async with sessions() as session, session.begin():
        alerted = await apply_zone_change(
            session,
            ZoneLevelChanged(
                regency_code=regency,
                level=3,
                previous_level=2,
                colour="orange",
                changed_at=datetime.now(UTC),
            ),
            alert_days=3,
        )
    assert alerted == 0


async def test_a_scan_on_a_day_without_a_partition_creates_it(db_settings, make_venue, sessions):
    venue = await make_venue()
    day = datetime.now(UTC) - timedelta(days=40)
    name = f"visits_p{day:%Y%m%d}"
    assert await scalar(sessions, "SELECT to_regclass(:n) IS NULL", n=name) is True
    pool = await create_pool(db_settings)
    try:
        row = await scan(
            pool,
            person_id=uuid.uuid4(),
            venue_id=venue.venue_id,
            qr_id=None,
            entrance="main",
            at=day,
            client_id=None,
            source="offline",
            live=False,
            rule_version="sector-2021-09",
            visit_id=uuid.uuid4(),
        )
    finally:
        await pool.close()
    assert row["o_outcome"] == "recorded"
    assert await scalar(sessions, f"SELECT count(*) FROM {name}") == 1
