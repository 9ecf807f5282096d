"""Occupancy and statistics for the venue's own manager; a citizen's own history."""

from __future__ import annotations

import uuid
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


async def test_stats_carry_the_day_by_hour(
    client, db_settings, signer, make_venue, citizen_factory, set_colour
):
    venue = await make_venue(capacity=5)
    for colour in ("green", "black"):
        citizen = citizen_factory()
        await set_colour(citizen.person_id, colour)
        await _enter(client, signer, venue, citizen)
    manager = bearer(db_settings, "venue_manager", venue.manager_id)
    stats = (await client.get(f"/v1/venues/{venue.venue_id}/stats", headers=manager)).json()
    assert len(stats["admitted_by_hour"]) == 24 and len(stats["refused_by_hour"]) == 24
    assert sum(stats["admitted_by_hour"]) == 1 and sum(stats["refused_by_hour"]) == 1
    assert stats["admitted_by_hour"].index(1) == stats["refused_by_hour"].index(1)


async def test_regency_summary_for_officers(
    client, db_settings, signer, make_venue, citizen_factory, set_colour
):
    regency = f"{uuid.uuid4().int % 9000 + 1000}"
    busy = await make_venue(regency_code=regency, name="A busy place", capacity=10)
    await make_venue(regency_code=regency, name="B quiet place")
    await make_venue()  # elsewhere
    for colour in ("green", "green", "yellow"):
        citizen = citizen_factory()
        await set_colour(citizen.person_id, colour)
        await _enter(client, signer, busy, citizen)
    officer = bearer(db_settings, "health_officer", "officer-1")
    answer = await client.get(f"/v1/regencies/{regency}/summary", headers=officer)
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert [v["name"] for v in summary["venues"]] == ["A busy place", "B quiet place"]
    assert summary["venues"][0]["present"] == 3 and summary["venues"][0]["visits"] == 3
    assert summary["visits"] == 3 and summary["green_share"] == 2 / 3
    assert summary["case_visits"] == 0 and summary["contacts_notified"] == 0
    manager = bearer(db_settings, "venue_manager", busy.manager_id)
    assert (
        await client.get(f"/v1/regencies/{regency}/summary", headers=manager)
    ).status_code == 403
    assert (await client.get("/v1/regencies/31x1/summary", headers=officer)).status_code == 422


async def test_officers_read_only_within_their_jurisdiction(
    client, db_settings, signer, make_venue, citizen_factory
):
    """A regency's officer reads its venues' occupancy, statistics and summary, and no other
    regency's: the token's jurisdiction decides (403 outside-jurisdiction)."""
    from lindung_shared.jurisdiction import Jurisdiction

    regency = f"{uuid.uuid4().int % 9000 + 1000}"
    other = f"{(int(regency) + 1) % 9000 + 1000}"
    venue = await make_venue(regency_code=regency, name="Ours")
    theirs = await make_venue(regency_code=other, name="Theirs")

    def officer(jurisdiction: str) -> dict[str, str]:
        return bearer(
            db_settings,
            "health_officer",
            f"officer-{jurisdiction}",
            jurisdiction=Jurisdiction.parse(jurisdiction),
        )

    local = officer(f"regencies:{regency}")
    for path in ("occupancy", "stats"):
        assert (
            await client.get(f"/v1/venues/{venue.venue_id}/{path}", headers=local)
        ).status_code == 200
        refused = await client.get(f"/v1/venues/{theirs.venue_id}/{path}", headers=local)
        assert refused.status_code == 403
        assert refused.json()["type"].endswith("outside-jurisdiction")
    assert (await client.get(f"/v1/regencies/{regency}/summary", headers=local)).status_code == 200
    summary = await client.get(f"/v1/regencies/{other}/summary", headers=local)
    assert summary.status_code == 403 and "Theirs" not in summary.text
    province = officer(f"provinces:{regency[:2]}")
    assert (
        await client.get(f"/v1/regencies/{regency}/summary", headers=province)
    ).status_code == 200
    from lindung_shared.auth import TokenIssuer

    bare = TokenIssuer.development(db_settings).issue(subject="o", roles=["health_officer"])
    assert (
        await client.get(
            f"/v1/venues/{venue.venue_id}/stats", headers={"Authorization": f"Bearer {bare}"}
        )
    ).status_code == 403
