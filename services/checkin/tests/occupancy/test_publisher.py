"""Coalesced occupancy events and crowding crossings (once per crossing)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st
from lindung_checkin.occupancy.publisher import crossed, crowding_level, publish_once

from ..helpers import rows

THRESHOLDS = (80, 100)


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_crowding_level_is_the_highest_threshold_reached(present, capacity):
    level = crowding_level(present, capacity, THRESHOLDS)
    assert level in (0, 80, 100)
    assert (level == 100) == (present >= capacity)
    assert (level >= 80) == (present * 100 >= 80 * capacity)


@given(st.sampled_from((0, 80, 100)), st.sampled_from((0, 80, 100)))
def test_only_upward_crossings_alert(before, after):
    alerts = crossed(before, after, THRESHOLDS)
    assert all(before < t <= after for t in alerts)
    if after <= before:
        assert alerts == []


async def _events(sessions, venue_id: uuid.UUID):
    return await rows(
        sessions,
        "SELECT type, payload FROM outbox WHERE key = :k ORDER BY id",
        k=str(venue_id),
    )


async def _publish(sessions):
    async with sessions() as session, session.begin():
        return await publish_once(session, THRESHOLDS)


async def _enter(client, signer, venue, citizen_factory, set_colour):
    citizen = citizen_factory()
    await set_colour(citizen.person_id, "green")
    body = (
        await client.post(
            "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=citizen.headers
        )
    ).json()
    return citizen, body


async def test_occupancy_is_coalesced_and_crowding_alerts_once_per_crossing(
    client, signer, make_venue, citizen_factory, set_colour, sessions
):
    venue = await make_venue(capacity=5)
    for _ in range(3):
        await _enter(client, signer, venue, citizen_factory, set_colour)
    await _publish(sessions)
    events = await _events(sessions, venue.venue_id)
    assert [e.type for e in events] == ["occupancy.changed"]  # three scans, one event
    assert events[0].payload["present"] == 3

    await _publish(sessions)
    assert len(await _events(sessions, venue.venue_id)) == 1  # nothing changed, nothing sent

    citizen, body = await _enter(client, signer, venue, citizen_factory, set_colour)  # 4/5 = 80 %
    await _publish(sessions)
    events = await _events(sessions, venue.venue_id)
    assert [e.type for e in events[1:]] == ["occupancy.changed", "venue.crowding"]
    assert events[2].payload["threshold_percent"] == 80
    assert events[2].payload["manager_id"] == venue.manager_id

    # Leave and come back: 3 then 4 again re-arms and crosses 80 % a second time.
    await client.post(f"/v1/checkins/{body['visit_id']}/checkout", headers=citizen.headers)
    await _publish(sessions)
    await _enter(client, signer, venue, citizen_factory, set_colour)
    await _enter(client, signer, venue, citizen_factory, set_colour)  # 5/5 = 100 %
    await _publish(sessions)
    types = [e.type for e in await _events(sessions, venue.venue_id)]
    assert types.count("venue.crowding") == 3  # 80, then 80 and 100 again
    thresholds = [
        e.payload["threshold_percent"]
        for e in await _events(sessions, venue.venue_id)
        if e.type == "venue.crowding"
    ]
    assert thresholds == [80, 80, 100]
