"""Automatic check-out by maximum stay or closing time; safe with concurrent sweepers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from lindung_checkin.checkins.sweeper import sweep

from ..helpers import present, visit


async def test_max_stay_checks_out_automatically(
    client, signer, make_venue, citizen_factory, set_colour, sessions
):
    venue = await make_venue(max_stay_minutes=30)
    visit_ids = []
    for _ in range(6):
        citizen = citizen_factory()
        await set_colour(citizen.person_id, "green")
        body = (
            await client.post(
                "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=citizen.headers
            )
        ).json()
        visit_ids.append(body["visit_id"])
    assert await present(sessions, venue.venue_id) == 6

    # Nothing is due yet.
    await sweep(sessions, datetime.now(UTC), limit=100)
    assert await present(sessions, venue.venue_id) == 6

    # Three sweepers at once, 31 minutes later, small batches: each visit swept exactly once.
    later = datetime.now(UTC) + timedelta(minutes=31)
    await asyncio.gather(*(sweep(sessions, later, limit=2) for _ in range(3)))
    assert await present(sessions, venue.venue_id) == 0
    for visit_id in visit_ids:
        row = await visit(sessions, visit_id)
        assert row.checkout_method == "max_stay"
        assert row.checked_out_at == row.auto_checkout_at


async def test_a_scan_after_the_stay_ended_closes_the_old_visit_at_its_end(
    client, signer, make_venue, green_citizen, sessions
):
    # The sweeper has not run yet: the next scan closes the old visit as "max_stay", not
    # "rescan", and is a fresh check-in.
    from sqlalchemy import text

    venue = await make_venue()
    first = (
        await client.post(
            "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=green_citizen.headers
        )
    ).json()
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE open_visits SET auto_checkout_at = now() - interval '1 minute' "
                "WHERE person_id = :p"
            ),
            {"p": green_citizen.person_id},
        )
    second = (
        await client.post(
            "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=green_citizen.headers
        )
    ).json()
    assert second["outcome"] == "admitted"
    assert (await visit(sessions, first["visit_id"])).checkout_method == "max_stay"
    assert await present(sessions, venue.venue_id) == 1
