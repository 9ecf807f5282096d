"""Occupancy and statistics for the venue's own manager; a citizen's own history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lindung_shared.testing import bearer


async def _enter(client, signer, venue, citizen):
    return (
        await client.post(
            "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=citizen.headers
        )
    ).json()


async def test_occupancy_and_stats_for_the_manager_only(
    client, db_settings, signer, make_venue, citizen_factory, set_colour
):
    venue = await make_venue(capacity=2)
    for colour in ("green", "yellow", "black", "green"):
        citizen = citizen_factory()
        await set_colour(citizen.person_id, colour)
        await _enter(client, signer, venue, citizen)
    manager = bearer(db_settings, "venue_manager", venue.manager_id)

    occupancy = await client.get(f"/v1/venues/{venue.venue_id}/occupancy", headers=manager)
    assert occupancy.status_code == 200, occupancy.text
    assert occupancy.json()["present"] == 2
    assert occupancy.json()["state"] == "full"

    stats = (await client.get(f"/v1/venues/{venue.venue_id}/stats", headers=manager)).json()
    assert stats["admitted"] == {"green": 1, "yellow": 1}
    assert stats["refused"] == {"black": 1, "green": 1}
    assert stats["refused_by_reason"] == {"colour_black": 1, "venue_full": 1}
    assert stats["present"] == 2
    assert stats["peak"] == 2

    other_manager = bearer(db_settings, "venue_manager", "someone-else")
    assert (
        await client.get(f"/v1/venues/{venue.venue_id}/occupancy", headers=other_manager)
    ).status_code == 403
    officer = bearer(db_settings, "health_officer", "officer-1")
    assert (
        await client.get(f"/v1/venues/{venue.venue_id}/stats", headers=officer)
    ).status_code == 200
    citizen = citizen_factory()
    assert (
        await client.get(f"/v1/venues/{venue.venue_id}/occupancy", headers=citizen.headers)
    ).status_code == 403
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    past = (
        await client.get(f"/v1/venues/{venue.venue_id}/stats?date={yesterday}", headers=manager)
    ).json()
    assert past["admitted_total"] == 0


async def test_own_history_is_paginated_and_private(
    client, signer, make_venue, green_citizen, citizen_factory
):
    venues = [await make_venue() for _ in range(3)]
    for venue in venues:
        await _enter(client, signer, venue, green_citizen)
    first = (await client.get("/v1/visits?limit=2", headers=green_citizen.headers)).json()
    assert [v["venue_id"] for v in first["items"]] == [
        str(venues[2].venue_id),
        str(venues[1].venue_id),
    ]
    assert first["items"][1]["checkout_method"] == "elsewhere"
    rest = (
        await client.get(
            "/v1/visits",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=green_citizen.headers,
        )
    ).json()
    assert [v["venue_id"] for v in rest["items"]] == [str(venues[0].venue_id)]
    assert rest["next_cursor"] is None
    stranger = (await client.get("/v1/visits", headers=citizen_factory().headers)).json()
    assert stranger["items"] == []
    bad = await client.get("/v1/visits?cursor=nonsense", headers=green_citizen.headers)
    assert bad.status_code == 422
