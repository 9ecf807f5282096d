"""Venues through the HTTP API: registration, validation, ownership, roles, listing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

PROBLEM = "application/problem+json"


async def test_register_returns_the_venue_with_derived_timezone(
    client, manager, manager_id, create_venue
):
    venue = await create_venue(manager)
    assert venue["manager_id"] == manager_id
    assert venue["timezone"] == "Asia/Jakarta"
    assert venue["regency_name"] == "KOTA JAKARTA SELATAN"
    assert venue["province_name"] == "DKI JAKARTA"
    assert venue["max_stay_minutes"] == 240
    assert venue["effective_capacity"] == venue["capacity"] == 8000
    assert venue["status"] == "active"
    read = await client.get(f"/v1/venues/{venue['id']}", headers=manager)
    assert read.status_code == 200
    assert read.json() == venue


@pytest.mark.parametrize(
    ("regency", "latitude", "longitude", "timezone"),
    [
        ("5171", -8.65, 115.22, "Asia/Makassar"),  # Denpasar, Bali
        ("7371", -5.14, 119.43, "Asia/Makassar"),  # Makassar
        ("9471", -2.53, 140.72, "Asia/Jayapura"),  # Jayapura
        ("9301", -8.49, 140.40, "Asia/Jayapura"),  # Merauke: operator-supplied extra code
    ],
)
async def test_timezone_follows_the_province(
    manager, create_venue, regency, latitude, longitude, timezone
):
    venue = await create_venue(
        manager, regency_code=regency, latitude=latitude, longitude=longitude
    )
    assert venue["timezone"] == timezone


async def test_operating_since_defaults_to_the_registration_and_may_go_back(
    client, settings, manager, create_venue
):
    fresh = await create_venue(manager)
    assert fresh["operating_since"] == fresh["created_at"]
    since = datetime.now(UTC) - timedelta(days=20)
    moved = await create_venue(manager, operating_since=since.isoformat())
    assert datetime.fromisoformat(moved["operating_since"]) == since
    # Announced to the other services with the venue.
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as conn:
            announced = await conn.scalar(
                text(
                    "SELECT payload->>'operating_since' FROM outbox WHERE payload->>'venue_id' = :v"
                ),
                {"v": moved["id"]},
            )
    finally:
        await engine.dispose()
    assert datetime.fromisoformat(announced) == since


async def test_explicit_timezone_wins(manager, create_venue):
    venue = await create_venue(manager, timezone="Asia/Makassar")
    assert venue["timezone"] == "Asia/Makassar"


@pytest.mark.parametrize(
    ("overrides", "status", "problem_type", "mentions"),
    [
        ({"regency_code": "3199"}, 422, "unknown-regency", "3199"),
        ({"regency_code": "31711"}, 422, "validation-error", "regency_code"),
        ({"latitude": 91}, 422, "validation-error", "latitude"),
        ({"longitude": -181}, 422, "validation-error", "longitude"),
        (
            {"latitude": 48.85, "longitude": 2.35},
            422,
            "coordinates-out-of-range",
            "outside Indonesia",
        ),
        ({"capacity": 0}, 422, "validation-error", "capacity"),
        ({"capacity": -5}, 422, "validation-error", "capacity"),
        ({"category": "casino"}, 422, "validation-error", "category"),
        ({"entrances": []}, 422, "validation-error", "entrances"),
        ({"entrances": ["A", "a"]}, 422, "validation-error", "unique"),
        (
            {"opening_hours": [{"weekday": 1, "opens": "22:00", "closes": "10:00"}]},
            422,
            "validation-error",
            "closes",
        ),
        ({"max_stay_minutes": 0}, 422, "validation-error", "max_stay_minutes"),
        ({"name": "   "}, 422, "validation-error", "name"),
        ({"surprise": 1}, 422, "validation-error", "surprise"),
        (
            {"operating_since": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
            422,
            "operating-since-in-future",
            "future",
        ),
        (
            {"operating_since": (datetime.now(UTC) - timedelta(days=30)).isoformat()},
            422,
            "operating-since-too-old",
            "21 days",
        ),
        ({"operating_since": "2026-11-20T00:00:00"}, 422, "validation-error", "operating_since"),
    ],
)
async def test_bad_input_is_a_precise_problem_and_writes_nothing(
    client, settings, manager, manager_id, venue_body, overrides, status, problem_type, mentions
):
    response = await client.post("/v1/venues", json=venue_body(**overrides), headers=manager)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith(problem_type)
    assert mentions in problem["detail"]
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as conn:
            venues = await conn.scalar(
                text("SELECT count(*) FROM venues WHERE manager_id = :m"), {"m": manager_id}
            )
            events = await conn.scalar(
                text("SELECT count(*) FROM outbox WHERE payload->>'manager_id' = :m"),
                {"m": manager_id},
            )
    finally:
        await engine.dispose()
    assert (venues, events) == (0, 0)


async def test_without_token_401_and_wrong_role_403(client, token, venue_body):
    unauthenticated = await client.post("/v1/venues", json=venue_body())
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == PROBLEM
    for role in ("citizen", "health_officer", "feed"):
        response = await client.post("/v1/venues", json=venue_body(), headers=token(role))
        assert response.status_code == 403, role
    assert (await client.get("/v1/venues", headers=token("citizen"))).status_code == 403


async def test_a_manager_cannot_touch_another_managers_venue(client, manager, token, create_venue):
    venue = await create_venue(manager)
    intruder = token("venue_manager", "someone-else")
    url = f"/v1/venues/{venue['id']}"
    attempts = [
        await client.get(url, headers=intruder),
        await client.patch(url, json={"capacity": 1}, headers=intruder),
        await client.post(f"{url}/close", headers=intruder),
        await client.delete(url, headers=intruder),
        await client.post(f"{url}/qr-codes", json={"entrance": "Main lobby"}, headers=intruder),
        await client.get(f"{url}/qr-codes", headers=intruder),
    ]
    for response in attempts:
        assert response.status_code == 403, response.text
        assert response.json()["type"].endswith("not-your-venue")
    unchanged = await client.get(url, headers=manager)
    assert unchanged.json()["capacity"] == 8000
    assert unchanged.json()["status"] == "active"


async def test_officer_reads_all_but_cannot_change(client, manager, officer, create_venue):
    venue = await create_venue(manager)
    assert (await client.get(f"/v1/venues/{venue['id']}", headers=officer)).status_code == 200
    patch = await client.patch(f"/v1/venues/{venue['id']}", json={"capacity": 3}, headers=officer)
    assert patch.status_code == 403


async def test_unknown_venue_is_404(client, manager):
    response = await client.get(f"/v1/venues/{uuid.uuid4()}", headers=manager)
    assert response.status_code == 404
    assert response.json()["type"].endswith("venue-not-found")
    malformed = await client.get("/v1/venues/not-a-uuid", headers=manager)
    assert malformed.status_code == 422


async def test_patch_changes_only_given_fields(client, manager, create_venue):
    venue = await create_venue(manager)
    url = f"/v1/venues/{venue['id']}"
    response = await client.patch(
        url,
        json={"capacity": 500, "regency_code": "5171", "latitude": -8.65, "longitude": 115.22},
        headers=manager,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["capacity"] == 500
    assert updated["timezone"] == "Asia/Makassar"
    assert updated["name"] == venue["name"]
    assert updated["updated_at"] > venue["updated_at"]
    empty = await client.patch(url, json={}, headers=manager)
    assert empty.status_code == 200 and empty.json() == updated  # nothing changes, no event
    for bad, kind in (
        ({"capacity": 0}, "validation-error"),
        ({"name": None}, "validation-error"),
        ({"regency_code": "0000"}, "unknown-regency"),
        ({"latitude": 60.0}, "coordinates-out-of-range"),
    ):
        rejected = await client.patch(url, json=bad, headers=manager)
        assert rejected.status_code == 422, bad
        assert rejected.json()["type"].endswith(kind)
    assert (await client.get(url, headers=manager)).json() == updated


async def test_close_then_changes_are_refused(client, manager, create_venue):
    venue = await create_venue(manager)
    url = f"/v1/venues/{venue['id']}"
    closed = await client.delete(url, headers=manager)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    again = await client.post(f"{url}/close", headers=manager)
    assert again.status_code == 409
    assert again.json()["type"].endswith("venue-closed")
    assert (await client.patch(url, json={"capacity": 9}, headers=manager)).status_code == 409


async def test_list_is_the_managers_own_paginated_and_filterable(
    client, token, officer, create_venue
):
    owner_id = f"lister-{uuid.uuid4().hex[:8]}"
    owner = token("venue_manager", owner_id)
    other = token("venue_manager", f"other-{uuid.uuid4().hex[:8]}")
    mine = [await create_venue(owner, name=f"Warung {i}", category="restaurant") for i in range(3)]
    mine.append(await create_venue(owner, name="Masjid Raya", category="worship"))
    theirs = await create_venue(other, name="Warung lain", category="restaurant")

    page = (await client.get("/v1/venues", params={"limit": 2}, headers=owner)).json()
    assert page["total"] == 4 and len(page["items"]) == 2
    rest = (await client.get("/v1/venues", params={"limit": 2, "offset": 2}, headers=owner)).json()
    ids = {v["id"] for v in page["items"] + rest["items"]}
    assert ids == {v["id"] for v in mine}
    assert theirs["id"] not in ids

    restaurants = (
        await client.get("/v1/venues", params={"category": "restaurant"}, headers=owner)
    ).json()
    assert restaurants["total"] == 3
    named = (await client.get("/v1/venues", params={"q": "masjid"}, headers=owner)).json()
    assert [v["name"] for v in named["items"]] == ["Masjid Raya"]
    # a manager cannot widen the filter to someone else
    sneaky = (await client.get("/v1/venues", params={"manager_id": "x"}, headers=owner)).json()
    assert sneaky["total"] == 4

    as_officer = (
        await client.get("/v1/venues", params={"manager_id": owner_id}, headers=officer)
    ).json()
    assert as_officer["total"] == 4
    bad = await client.get("/v1/venues", params={"limit": 0}, headers=owner)
    assert bad.status_code == 422
