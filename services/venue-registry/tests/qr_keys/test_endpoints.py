"""Key rotation and retirement: old codes keep verifying until their key is retired."""

from __future__ import annotations

import pytest
from lindung_shared.qr import QrInvalid, public_key_from_jwk, verify_qr
from lindung_venues.qr_keys.vault import KeyVault
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def jwks(client):
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return response


def keys_of(response):
    return {k["kid"]: public_key_from_jwk(k) for k in response.json()["keys"]}


async def issue(client, headers, venue, entrance):
    response = await client.post(
        f"/v1/venues/{venue['id']}/qr-codes", json={"entrance": entrance}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def outbox_rows(settings, event_type, key):
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT payload FROM outbox WHERE type = :t AND key = :k ORDER BY id"),
                {"t": event_type, "k": key},
            )
            return [r[0] for r in rows]
    finally:
        await engine.dispose()


async def test_jwks_is_public_and_cacheable(client):
    response = await jwks(client)
    assert "public" in response.headers["cache-control"]
    assert "max-age=" in response.headers["cache-control"]
    [active] = [k for k in response.json()["keys"]]  # first start created exactly one key
    assert active["kty"] == "OKP" and active["crv"] == "Ed25519" and "d" not in active


async def test_rotate_then_retire(client, settings, manager, officer, admin, token, create_venue):
    venue = await create_venue(manager)
    old_code = await issue(client, manager, venue, "Main lobby")

    assert (await client.post("/v1/qr-keys/rotate", headers=manager)).status_code == 403
    assert (await client.post("/v1/qr-keys/rotate")).status_code == 401
    rotated = await client.post("/v1/qr-keys/rotate", headers=token("service", "ops"))
    assert rotated.status_code == 201
    new_kid = rotated.json()["key_id"]
    assert new_kid != old_code["key_id"]

    new_code = await issue(client, manager, venue, "East wing")
    assert new_code["key_id"] == new_kid
    keys = keys_of(await jwks(client))
    assert {old_code["key_id"], new_kid} <= set(keys)
    verify_qr(old_code["payload"], keys)  # the old code still verifies
    verify_qr(new_code["payload"], keys)
    listed = {
        k["key_id"]: k["status"] for k in (await client.get("/v1/qr-keys", headers=admin)).json()
    }
    assert listed[old_code["key_id"]] == "retiring" and listed[new_kid] == "active"

    retire_url = f"/v1/qr-keys/{old_code['key_id']}/retire"
    # health officers no longer retire keys; an admin does, and says why
    by_officer = await client.post(retire_url, json={"reason": "suspected leak"}, headers=officer)
    assert by_officer.status_code == 403
    assert (await client.post(retire_url, json={}, headers=admin)).status_code == 422
    retired = await client.post(retire_url, json={"reason": "suspected leak"}, headers=admin)
    assert retired.status_code == 200
    log = (
        await client.get("/v1/audit-log", params={"action": "qr_key.retire"}, headers=admin)
    ).json()["entries"]
    assert [(e["target"], e["reason"], e["roles"]) for e in log][:1] == [
        (f"qr_key:{old_code['key_id']}", "suspected leak", ["admin"])
    ]
    assert (await client.get("/v1/audit-log", headers=officer)).status_code == 403
    assert retired.json()["retired"]["status"] == "retired"
    assert retired.json()["replacement"] is None
    keys = keys_of(await jwks(client))
    assert old_code["key_id"] not in keys
    with pytest.raises(QrInvalid) as refused:
        verify_qr(old_code["payload"], keys)
    assert refused.value.reason == "unknown-key"
    verify_qr(new_code["payload"], keys)

    url = f"/v1/venues/{venue['id']}/qr-codes"
    codes = {c["id"]: c["key_status"] for c in (await client.get(url, headers=manager)).json()}
    assert codes[old_code["id"]] == "retired"
    poster = await client.get(f"{url}/{old_code['id']}/poster.png", headers=manager)
    assert poster.status_code == 410
    assert poster.json()["type"].endswith("qr-key-retired")

    # the dead code is replaced on request, without a manual revocation
    replacement = await issue(client, manager, venue, "Main lobby")
    assert replacement["key_id"] == new_kid
    history = (await client.get(url, params={"include_revoked": "true"}, headers=manager)).json()
    assert {c["id"]: c["revoked_at"] is not None for c in history}[old_code["id"]] is True
    live_again = await client.post(url, json={"entrance": "Main lobby"}, headers=manager)
    assert live_again.status_code == 409  # the new code is alive

    twice = await client.post(
        f"/v1/qr-keys/{old_code['key_id']}/retire", json={"reason": "suspected leak"}, headers=admin
    )
    assert twice.status_code == 409
    unknown = await client.post(
        "/v1/qr-keys/qr-nope/retire", json={"reason": "suspected leak"}, headers=admin
    )
    assert unknown.status_code == 404

    published = await outbox_rows(settings, "qr_key.published", old_code["key_id"])
    assert [p["status"] for p in published][-1:] == ["retiring"]
    assert await outbox_rows(settings, "qr_key.retired", old_code["key_id"])
    assert [p["status"] for p in await outbox_rows(settings, "qr_key.published", new_kid)] == [
        "active"
    ]


async def test_retiring_the_active_key_makes_a_replacement(client, admin, manager, create_venue):
    active = [
        k
        for k in (await client.get("/v1/qr-keys", headers=admin)).json()
        if k["status"] == "active"
    ]
    assert len(active) == 1
    response = await client.post(
        f"/v1/qr-keys/{active[0]['key_id']}/retire",
        json={"reason": "suspected leak"},
        headers=admin,
    )
    assert response.status_code == 200
    replacement = response.json()["replacement"]
    assert replacement["status"] == "active"
    venue = await create_venue(manager)
    code = await issue(client, manager, venue, "Main lobby")
    assert code["key_id"] == replacement["key_id"]


async def test_private_keys_are_encrypted_at_rest(settings, client):
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT key_id, public_key, private_key_encrypted FROM qr_signing_keys")
                )
            ).all()
    finally:
        await engine.dispose()
    vault = KeyVault(settings.key_encryption_key)
    for key_id, public, sealed in rows:
        private = vault.open(key_id, sealed)
        raw = private.private_bytes_raw()
        assert raw not in sealed
        assert private.public_key().public_bytes_raw() == public
        with pytest.raises(RuntimeError):
            KeyVault(SecretStr("another-secret")).open(key_id, sealed)
        with pytest.raises(RuntimeError):
            vault.open(key_id + "x", sealed)  # bound to its key id


async def test_republish_announces_every_trusted_key(settings, client):
    from lindung_shared.db import create_engine, create_sessionmaker
    from lindung_venues.qr_keys import service

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            trusted = {k.key_id: k.status for k in await service.trusted_keys(session)}
            assert await service.republish(session) == len(trusted)
            rows = await session.execute(
                text(
                    "SELECT key, payload->>'status' FROM outbox WHERE type = 'qr_key.published' "
                    "ORDER BY id DESC LIMIT :n"
                ),
                {"n": len(trusted)},
            )
            assert dict(rows.all()) == trusted
    finally:
        await engine.dispose()
