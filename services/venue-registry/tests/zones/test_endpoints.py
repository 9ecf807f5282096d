"""Zones, their history, capacity rules and the effective capacity they give venues.

These tests use regency 3273 (Kota Bandung) so that levels set here change no other test's
venues; capacity rules keep 100 % at level 1 for the same reason.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

BANDUNG = {"regency_code": "3273", "latitude": -6.9175, "longitude": 107.6191}


async def outbox_for(settings, venue_id, event_type="venue.updated"):
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT payload FROM outbox WHERE type = :t AND key = :k ORDER BY id"),
                {"t": event_type, "k": venue_id},
            )
            return [r[0] for r in rows]
    finally:
        await engine.dispose()


async def test_zone_level_and_capacity_rule_give_effective_capacity(
    client, settings, manager, officer, token, create_venue
):
    mall = await create_venue(manager, category="mall", capacity=1001, **BANDUNG)
    office = await create_venue(manager, category="office", capacity=10, **BANDUNG)
    assert mall["effective_capacity"] == 1001

    rule = await client.put(
        "/v1/capacity-rules/mall",
        json={"reason": "test", "level_1": 100, "level_2": 75, "level_3": 50, "level_4": 25},
        headers=officer,
    )
    assert rule.status_code == 200, rule.text
    assert rule.json()["is_default"] is False
    # Bandung has no level yet (counts as 1, 100 %): nothing changes, nothing is re-announced
    assert await outbox_for(settings, mall["id"]) == []

    zone = await client.put(
        "/v1/zones/3273", json={"reason": "test", "level": 4, "note": "surge"}, headers=officer
    )
    assert zone.status_code == 200, zone.text
    assert zone.json()["colour"] == "red" and zone.json()["is_set"] is True

    read = (await client.get(f"/v1/venues/{mall['id']}", headers=manager)).json()
    assert read["effective_capacity"] == 250  # floor(1001 * 25 / 100)
    office_read = (await client.get(f"/v1/venues/{office['id']}", headers=manager)).json()
    assert office_read["effective_capacity"] == 10  # no rule for offices: 100 %
    updates = await outbox_for(settings, mall["id"])
    assert [u["effective_capacity"] for u in updates] == [250]
    assert updates[0]["manager_id"] == mall["manager_id"]
    assert await outbox_for(settings, office["id"]) == []
    [changed] = (await outbox_for(settings, "3273", "zone.level_changed"))[-1:]
    assert changed["level"] == 4 and changed["colour"] == "red"

    # A rule change re-announces the venues whose effective capacity changed
    await client.put(
        "/v1/capacity-rules/mall",
        json={"reason": "test", "level_1": 100, "level_2": 80, "level_3": 60, "level_4": 1},
        headers=officer,
    )
    read = (await client.get(f"/v1/venues/{mall['id']}", headers=manager)).json()
    assert read["effective_capacity"] == 10  # floor(1001 / 100)
    tiny = await create_venue(manager, category="mall", capacity=3, **BANDUNG)
    assert tiny["effective_capacity"] == 1  # never below one

    # A capacity change of the venue itself recomputes too
    patched = await client.patch(
        f"/v1/venues/{mall['id']}", json={"capacity": 2000}, headers=manager
    )
    assert patched.json()["effective_capacity"] == 20

    # Back to level 1: the full capacity again
    await client.put("/v1/zones/3273", json={"reason": "test", "level": 1}, headers=officer)
    assert (await client.get(f"/v1/venues/{mall['id']}", headers=manager)).json()[
        "effective_capacity"
    ] == 2000
    await client.put(
        "/v1/capacity-rules/mall",
        json={"reason": "test", "level_1": 100, "level_2": 75, "level_3": 50, "level_4": 25},
        headers=officer,
    )


async def test_zone_history_and_reads(client, officer, token):
    code = "3204"  # Kabupaten Bandung
    for level in (2, 3, 3, 4):
        response = await client.put(
            f"/v1/zones/{code}", json={"reason": "test", "level": level}, headers=officer
        )
        assert response.status_code == 200
    citizen = token("citizen")
    history = (await client.get(f"/v1/zones/{code}/history", headers=citizen)).json()
    assert [(c["level"], c["previous_level"]) for c in history["items"]] == [
        (4, 3),
        (3, 2),
        (2, None),
    ]
    zone = (await client.get(f"/v1/zones/{code}", headers=citizen)).json()
    assert zone["level"] == 4 and zone["colour"] == "red"
    unset = (await client.get("/v1/zones/1101", headers=citizen)).json()
    assert unset == {**unset, "level": 1, "colour": "green", "is_set": False}
    listed = (
        await client.get("/v1/zones", params={"province_code": "32", "level": 4}, headers=citizen)
    ).json()
    assert code in [z["regency_code"] for z in listed["items"]]
    rules = (await client.get("/v1/capacity-rules", headers=citizen)).json()
    assert {r["category"] for r in rules} >= {"mall", "worship", "transport_hub"}


async def test_zone_bad_input_and_roles(client, officer, manager, token):
    assert (
        await client.put("/v1/zones/3199", json={"reason": "test", "level": 2}, headers=officer)
    ).status_code == 404
    assert (
        await client.put("/v1/zones/31", json={"reason": "test", "level": 2}, headers=officer)
    ).status_code == 422
    assert (
        await client.put("/v1/zones/3273", json={"reason": "test", "level": 5}, headers=officer)
    ).status_code == 422
    assert (
        await client.put("/v1/zones/3273", json={"reason": "test", "level": 0}, headers=officer)
    ).status_code == 422
    assert (
        await client.put("/v1/zones/3273", json={"reason": "test", "level": 2}, headers=manager)
    ).status_code == 403
    assert (
        await client.put("/v1/zones/3273", json={"reason": "test", "level": 2})
    ).status_code == 401
    assert (await client.get("/v1/zones/3273")).status_code == 401
    assert (await client.get("/v1/zones/3199", headers=manager)).status_code == 404
    bad_rule = await client.put(
        "/v1/capacity-rules/casino",
        json={"reason": "test", "level_1": 100, "level_2": 75, "level_3": 50, "level_4": 25},
        headers=officer,
    )
    assert bad_rule.status_code == 422
    zero = await client.put(
        "/v1/capacity-rules/mall",
        json={"reason": "test", "level_1": 100, "level_2": 75, "level_3": 50, "level_4": 0},
        headers=officer,
    )
    assert zero.status_code == 422
    by_manager = await client.put(
        "/v1/capacity-rules/mall",
        json={"reason": "test", "level_1": 100, "level_2": 75, "level_3": 50, "level_4": 25},
        headers=manager,
    )
    assert by_manager.status_code == 403


async def test_level_change_racing_registrations_leaves_no_stale_capacity(
    client, manager, officer, create_venue
):
    import asyncio

    surabaya = {"regency_code": "3578", "latitude": -7.2575, "longitude": 112.7521}
    rule = {"reason": "test", "level_1": 100, "level_2": 75, "level_3": 50, "level_4": 25}
    assert (
        await client.put("/v1/capacity-rules/mall", json=rule, headers=officer)
    ).status_code == 200
    results = await asyncio.gather(
        *(create_venue(manager, category="mall", capacity=400, **surabaya) for _ in range(6)),
        client.put("/v1/zones/3578", json={"reason": "test", "level": 4}, headers=officer),
    )
    assert results[-1].status_code == 200
    for venue in results[:-1]:
        now = (await client.get(f"/v1/venues/{venue['id']}", headers=manager)).json()
        assert now["effective_capacity"] == 100, now
