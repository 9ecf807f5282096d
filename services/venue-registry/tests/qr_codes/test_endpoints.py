"""QR codes through the API: issue, verify offline with the JWKS, list, revoke."""

from __future__ import annotations

import uuid

import pytest
from lindung_shared.qr import QrInvalid, public_key_from_jwk, verify_qr


async def trusted_keys(client):
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return {k["kid"]: public_key_from_jwk(k) for k in response.json()["keys"]}


async def test_issued_payload_verifies_and_any_changed_character_fails(
    client, manager, create_venue
):
    venue = await create_venue(manager)
    response = await client.post(
        f"/v1/venues/{venue['id']}/qr-codes", json={"entrance": "Main lobby"}, headers=manager
    )
    assert response.status_code == 201, response.text
    code = response.json()
    payload = code["payload"]
    assert payload.startswith("LINDUNG1:")
    keys = await trusted_keys(client)
    claims = verify_qr(payload, keys)
    assert str(claims.venue_id) == venue["id"]
    assert str(claims.qr_id) == code["id"]
    assert claims.entrance == "Main lobby"
    assert claims.key_id == code["key_id"] and code["key_status"] == "active"

    # Every position, changed to another character of the same alphabet, must fail.
    for index in range(len("LINDUNG1:"), len(payload)):
        original = payload[index]
        replacement = "A" if original != "A" else "B"
        if original == ".":
            replacement = "x"
        altered = payload[:index] + replacement + payload[index + 1 :]
        with pytest.raises(QrInvalid):
            verify_qr(altered, keys)


async def test_one_live_code_per_entrance_and_unknown_entrance(client, manager, create_venue):
    venue = await create_venue(manager)
    url = f"/v1/venues/{venue['id']}/qr-codes"
    first = await client.post(url, json={"entrance": "East wing"}, headers=manager)
    assert first.status_code == 201
    second = await client.post(url, json={"entrance": "East wing"}, headers=manager)
    assert second.status_code == 409
    assert second.json()["type"].endswith("qr-code-exists")
    assert second.json()["qr_id"] == first.json()["id"]
    unknown = await client.post(url, json={"entrance": "Back door"}, headers=manager)
    assert unknown.status_code == 422
    assert unknown.json()["type"].endswith("unknown-entrance")
    empty = await client.post(url, json={"entrance": ""}, headers=manager)
    assert empty.status_code == 422
    listed = (await client.get(url, headers=manager)).json()
    assert [c["id"] for c in listed] == [first.json()["id"]]


async def test_revoke_is_an_event_and_precise_errors_after(
    client, settings, manager, officer, create_venue
):
    venue = await create_venue(manager)
    url = f"/v1/venues/{venue['id']}/qr-codes"
    code = (await client.post(url, json={"entrance": "Main lobby"}, headers=manager)).json()
    assert (await client.delete(f"{url}/{code['id']}", headers=officer)).status_code == 403
    revoked = await client.delete(f"{url}/{code['id']}", headers=manager)
    assert revoked.status_code == 204
    again = await client.delete(f"{url}/{code['id']}", headers=manager)
    assert again.status_code == 410
    assert again.json()["type"].endswith("qr-code-revoked")
    unknown = await client.delete(f"{url}/{uuid.uuid4()}", headers=manager)
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("qr-code-not-found")
    poster = await client.get(f"{url}/{code['id']}/poster.pdf", headers=manager)
    assert poster.status_code == 410
    missing_poster = await client.get(f"{url}/{uuid.uuid4()}/poster.png", headers=manager)
    assert missing_poster.status_code == 404

    assert (await client.get(url, headers=manager)).json() == []
    history = (await client.get(url, params={"include_revoked": "true"}, headers=officer)).json()
    assert [c["revoked_at"] is not None for c in history] == [True]
    # a revoked entrance may get a new code
    fresh = await client.post(url, json={"entrance": "Main lobby"}, headers=manager)
    assert fresh.status_code == 201

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as conn:
            types = (
                (
                    await conn.execute(
                        text("SELECT type FROM outbox WHERE key = :v ORDER BY id"),
                        {"v": venue["id"]},
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    # the relay may have published some already; what is left is in order
    expected = ["venue.registered", "qr_code.issued", "qr_code.revoked", "qr_code.issued"]
    assert types == expected[len(expected) - len(types) :]


async def test_entrance_with_live_code_cannot_be_removed(client, manager, create_venue):
    venue = await create_venue(manager)
    await client.post(
        f"/v1/venues/{venue['id']}/qr-codes", json={"entrance": "East wing"}, headers=manager
    )
    response = await client.patch(
        f"/v1/venues/{venue['id']}", json={"entrances": ["Main lobby"]}, headers=manager
    )
    assert response.status_code == 409
    assert response.json()["entrances"] == ["East wing"]
    ok = await client.patch(
        f"/v1/venues/{venue['id']}",
        json={"entrances": ["East wing", "North gate"]},
        headers=manager,
    )
    assert ok.status_code == 200


async def test_closed_venue_gets_no_new_codes_and_no_posters(client, manager, create_venue):
    venue = await create_venue(manager)
    url = f"/v1/venues/{venue['id']}/qr-codes"
    code = (await client.post(url, json={"entrance": "Main lobby"}, headers=manager)).json()
    await client.post(f"/v1/venues/{venue['id']}/close", headers=manager)
    refused = await client.post(url, json={"entrance": "East wing"}, headers=manager)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("venue-closed")
    poster = await client.get(f"{url}/{code['id']}/poster.svg", headers=manager)
    assert poster.status_code == 409


async def test_qr_endpoints_need_a_token(client, manager, create_venue):
    venue = await create_venue(manager)
    url = f"/v1/venues/{venue['id']}/qr-codes"
    assert (await client.post(url, json={"entrance": "Main lobby"})).status_code == 401
    assert (await client.get(url)).status_code == 401


async def test_concurrent_issues_for_one_entrance_give_one_code(client, manager, create_venue):
    import asyncio

    venue = await create_venue(manager)
    url = f"/v1/venues/{venue['id']}/qr-codes"
    responses = await asyncio.gather(
        *(client.post(url, json={"entrance": "Main lobby"}, headers=manager) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    assert len((await client.get(url, headers=manager)).json()) == 1
