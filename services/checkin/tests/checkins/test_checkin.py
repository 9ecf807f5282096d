"""The door: signatures, screening, answers, check-out paths."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from ..conftest import QrSigner


async def test_green_person_is_admitted_and_the_visit_is_recorded(
    client, signer: QrSigner, make_venue, green_citizen, sessions
):
    venue = await make_venue(capacity=10)
    response = await client.post(
        "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=green_citizen.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "admitted"
    assert body["colour"] == "green"
    assert body["reason"]["code"] == "admitted"
    assert body["reason"]["id"] and body["reason"]["en"]
    assert body["occupancy"] == {"present": 1, "capacity": 10}
    assert body["venue_name"] == "Mal Kota"
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT person_id, counted, source, rule_version FROM visits WHERE visit_id = :v"
                ),
                {"v": uuid.UUID(body["visit_id"])},
            )
        ).one()
    assert row.person_id == green_citizen.person_id
    assert row.counted is True
    assert row.source == "online"
    assert row.rule_version == "sector-2021-09"
