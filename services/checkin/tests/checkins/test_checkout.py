"""Every way out: explicit, rescan, elsewhere, and what a stranger may not do."""

from __future__ import annotations

import uuid

from ..helpers import present, visit


async def _in(client, signer, citizen, venue_id):
    response = await client.post(
        "/v1/checkins", json={"qr": signer.sign(venue_id)}, headers=citizen.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_explicit_checkout(client, signer, make_venue, green_citizen, sessions):
    venue = await make_venue()
    body = await _in(client, signer, green_citizen, venue.venue_id)
    response = await client.post(
        f"/v1/checkins/{body['visit_id']}/checkout", headers=green_citizen.headers
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["checkout_method"] == "explicit"
    assert out["present"] == 0
    row = await visit(sessions, body["visit_id"])
    assert row.checkout_method == "explicit"
    assert row.checked_out_at is not None
    # Checking out again answers the same and changes nothing.
    again = await client.post(
        f"/v1/checkins/{body['visit_id']}/checkout", headers=green_citizen.headers
    )
    assert again.status_code == 200
    assert again.json()["checked_out_at"] == out["checked_out_at"]
    assert await present(sessions, venue.venue_id) == 0


async def test_someone_elses_visit_cannot_be_checked_out(
    client, signer, make_venue, green_citizen, citizen_factory, sessions
):
    venue = await make_venue()
    body = await _in(client, signer, green_citizen, venue.venue_id)
    stranger = citizen_factory()
    response = await client.post(
        f"/v1/checkins/{body['visit_id']}/checkout", headers=stranger.headers
    )
    assert response.status_code == 404
    assert response.json()["type"].endswith("/visit-not-found")
    assert (await visit(sessions, body["visit_id"])).checked_out_at is None
    assert await present(sessions, venue.venue_id) == 1
    missing = await client.post(
        f"/v1/checkins/{uuid.uuid4()}/checkout", headers=green_citizen.headers
    )
    assert missing.status_code == 404


async def test_scanning_the_same_venue_again_checks_out(
    client, signer, make_venue, green_citizen, sessions
):
    venue = await make_venue()
    first = await _in(client, signer, green_citizen, venue.venue_id)
    second = await _in(client, signer, green_citizen, venue.venue_id)
    assert second["outcome"] == "checked_out"
    assert second["visit_id"] == first["visit_id"]
    assert second["reason"]["code"] == "checked_out"
    assert second["occupancy"]["present"] == 0
    assert (await visit(sessions, first["visit_id"])).checkout_method == "rescan"
    third = await _in(client, signer, green_citizen, venue.venue_id)
    assert third["outcome"] == "admitted"
    assert third["visit_id"] != first["visit_id"]


async def test_checking_in_elsewhere_checks_out_first(
    client, signer, make_venue, green_citizen, sessions
):
    a = await make_venue()
    b = await make_venue()
    at_a = await _in(client, signer, green_citizen, a.venue_id)
    at_b = await _in(client, signer, green_citizen, b.venue_id)
    assert at_b["outcome"] == "admitted"
    row = await visit(sessions, at_a["visit_id"])
    assert row.checkout_method == "elsewhere"
    assert row.checked_out_at is not None
    assert await present(sessions, a.venue_id) == 0
    assert await present(sessions, b.venue_id) == 1
