"""Capacity is exact under concurrent scans from two API instances (separate pools)."""

from __future__ import annotations

import asyncio

from lindung_checkin.api import build_app
from lindung_shared.testing import app_client

from ..helpers import present, rows, visits_at


async def test_capacity_is_never_exceeded_under_concurrency(
    client, db_settings, signer, make_venue, citizen_factory, set_colour, sessions
):
    capacity, crowd = 15, 60
    venue = await make_venue(capacity=capacity)
    citizens = [citizen_factory() for _ in range(crowd)]
    for citizen in citizens:
        await set_colour(citizen.person_id, "green")
    qr = signer.sign(venue.venue_id)
    async with app_client(build_app(db_settings)) as second:
        clients = [client, second]
        responses = await asyncio.gather(
            *(
                clients[i % 2].post("/v1/checkins", json={"qr": qr}, headers=c.headers)
                for i, c in enumerate(citizens)
            )
        )
    outcomes = [r.json()["outcome"] for r in responses]
    assert all(r.status_code == 200 for r in responses)
    assert outcomes.count("admitted") == capacity
    assert outcomes.count("refused") == crowd - capacity
    assert max(r.json()["occupancy"]["present"] for r in responses) == capacity
    assert await present(sessions, venue.venue_id) == capacity
    assert await visits_at(sessions, venue.venue_id) == capacity


async def test_people_crossing_between_venues_concurrently_do_not_deadlock(
    client, signer, make_venue, citizen_factory, set_colour, sessions
):
    a = await make_venue(capacity=100)
    b = await make_venue(capacity=100)
    people = [citizen_factory() for _ in range(20)]
    for p in people:
        await set_colour(p.person_id, "green")
    qa, qb = signer.sign(a.venue_id), signer.sign(b.venue_id)
    # Half start in A, half in B; then everyone moves to the other venue at once.
    for i, p in enumerate(people):
        await client.post("/v1/checkins", json={"qr": qa if i % 2 else qb}, headers=p.headers)
    responses = await asyncio.gather(
        *(
            client.post("/v1/checkins", json={"qr": qb if i % 2 else qa}, headers=p.headers)
            for i, p in enumerate(people)
        )
    )
    assert all(r.json()["outcome"] == "admitted" for r in responses)
    assert await present(sessions, a.venue_id) == 10
    assert await present(sessions, b.venue_id) == 10
    methods = await rows(
        sessions,
        "SELECT checkout_method, count(*) FROM visits WHERE venue_id IN (:a, :b) "
        "GROUP BY checkout_method ORDER BY 1",
        a=a.venue_id,
        b=b.venue_id,
    )
    assert [tuple(m) for m in methods] == [("elsewhere", 20), (None, 20)]
