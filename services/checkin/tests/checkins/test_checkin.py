"""The door: signatures and bad input, screening, answers, idempotency."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.routing import APIRoute
from lindung_checkin.checkins.endpoints import router as checkins_router
from lindung_checkin.trust.handlers import on_qr_revoked
from lindung_checkin.zones.handlers import apply_zone_change
from lindung_shared.auth import Bearer, Role
from lindung_shared.events.catalogue import (
    OpeningHours,
    QrCodeRevoked,
    VenueCategory,
    ZoneLevelChanged,
    make_event,
)
from lindung_shared.qr import sign_qr
from lindung_shared.testing import bearer

from ..conftest import QrSigner, publish_key
from ..helpers import present, refusals_at, visit, visits_at


async def check_in(client, citizen, qr: str, **extra):
    return await client.post("/v1/checkins", json={"qr": qr, **extra}, headers=citizen.headers)


async def test_green_person_is_admitted_and_the_visit_is_recorded(
    client, signer: QrSigner, make_venue, green_citizen, sessions
):
    venue = await make_venue(capacity=10)
    response = await check_in(client, green_citizen, signer.sign(venue.venue_id))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "admitted"
    assert body["colour"] == "green"
    assert body["reason"]["code"] == "admitted"
    assert body["reason"]["id"] and body["reason"]["en"]
    assert body["occupancy"] == {"present": 1, "capacity": 10}
    assert body["venue_name"] == "Mal Kota"
    assert body["warnings"] == []
    row = await visit(sessions, body["visit_id"])
    assert row.person_id == green_citizen.person_id
    assert row.counted is True
    assert row.source == "online"
    assert row.rule_version == "sector-2021-09"
    assert row.entrance == "main"
    assert row.auto_checkout_at - row.checked_in_at == timedelta(minutes=240)


# --- bad QR codes: a precise 4xx, and nothing recorded ------------------------------------


async def _assert_nothing_recorded(sessions, venue_id):
    assert await visits_at(sessions, venue_id) == 0
    assert await refusals_at(sessions, venue_id) == 0
    assert await present(sessions, venue_id) == 0


async def test_forged_signature_is_refused(client, signer, make_venue, green_citizen, sessions):
    venue = await make_venue()
    forger = Ed25519PrivateKey.generate()
    forged = sign_qr(
        forger, signer.key_id, venue_id=venue.venue_id, entrance="main", qr_id=uuid.uuid4()
    )
    response = await check_in(client, green_citizen, forged)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/qr-bad-signature")
    assert response.headers["content-type"].startswith("application/problem+json")
    await _assert_nothing_recorded(sessions, venue.venue_id)


async def test_altered_payload_is_refused(client, signer, make_venue, green_citizen, sessions):
    venue = await make_venue()
    other = await make_venue()
    genuine = signer.sign(venue.venue_id)
    prefix, jws = genuine.split(":", 1)
    header, _claims, signature = jws.split(".")
    altered_claims = signer.sign(other.venue_id).split(":", 1)[1].split(".")[1]
    altered = f"{prefix}:{header}.{altered_claims}.{signature}"
    response = await check_in(client, green_citizen, altered)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/qr-bad-signature")
    await _assert_nothing_recorded(sessions, other.venue_id)


async def test_expired_code_is_gone(client, signer, make_venue, green_citizen, sessions):
    venue = await make_venue()
    qr = signer.sign(venue.venue_id, expires_at=int(time.time()) - 5)
    response = await check_in(client, green_citizen, qr)
    assert response.status_code == 410
    assert response.json()["type"].endswith("/qr-expired")
    await _assert_nothing_recorded(sessions, venue.venue_id)


async def test_revoked_code_is_gone(client, signer, make_venue, green_citizen, sessions):
    venue = await make_venue()
    qr_id = uuid.uuid4()
    event = make_event(
        "qr_code.revoked",
        QrCodeRevoked(qr_id=qr_id, venue_id=venue.venue_id, revoked_at=datetime.now(UTC)),
    )
    async with sessions() as session, session.begin():
        await on_qr_revoked(session, event)
    response = await check_in(client, green_citizen, signer.sign(venue.venue_id, qr_id=qr_id))
    assert response.status_code == 410
    assert response.json()["type"].endswith("/qr-revoked")
    await _assert_nothing_recorded(sessions, venue.venue_id)
    # Another code of the same venue still works.
    ok = await check_in(client, green_citizen, signer.sign(venue.venue_id))
    assert ok.json()["outcome"] == "admitted"


async def test_a_venue_not_known_yet_is_a_retryable_503(client, signer, green_citizen, sessions):
    # The registry signed the code, so the venue exists; its event has not arrived yet.
    venue_id = uuid.uuid4()
    response = await check_in(client, green_citizen, signer.sign(venue_id))
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/venue-not-yet-known")
    assert int(response.headers["retry-after"]) >= 1
    assert await visits_at(sessions, venue_id) == 0


async def test_unknown_key_is_refused(client, make_venue, green_citizen):
    venue = await make_venue()
    stranger = QrSigner(Ed25519PrivateKey.generate(), "never-published")
    response = await check_in(client, green_citizen, stranger.sign(venue.venue_id))
    assert response.status_code == 422
    assert response.json()["type"].endswith("/qr-unknown-key")


async def test_a_key_published_after_start_is_trusted_at_once(
    client, make_venue, green_citizen, sessions
):
    venue = await make_venue()
    rotated = QrSigner(Ed25519PrivateKey.generate(), f"rotated-{uuid.uuid4().hex[:6]}")
    await publish_key(sessions, rotated)
    response = await check_in(client, green_citizen, rotated.sign(venue.venue_id))
    assert response.status_code == 200
    assert response.json()["outcome"] == "admitted"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("https://example.com/not-a-lindung-code", "qr-not-lindung"),
        ("LINDUNG1:only.two", "qr-malformed"),
        ("LINDUNG1:%%%.%%%.%%%", "qr-malformed"),
    ],
)
async def test_garbage_payloads(client, green_citizen, payload, code):
    response = await check_in(client, green_citizen, payload)
    assert response.status_code == 422
    assert response.json()["type"].endswith(f"/{code}")


async def test_malformed_body_and_missing_token(client, green_citizen):
    response = await client.post("/v1/checkins", json={"qr": ""}, headers=green_citizen.headers)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation-error")
    anonymous = await client.post("/v1/checkins", json={"qr": "x"})
    assert anonymous.status_code == 401


async def test_a_manager_token_cannot_check_in(client, db_settings, signer, make_venue):
    venue = await make_venue()
    response = await client.post(
        "/v1/checkins",
        json={"qr": signer.sign(venue.venue_id)},
        headers=bearer(db_settings, "venue_manager", "m-1"),
    )
    assert response.status_code == 403


async def test_closed_venue_is_a_conflict(client, signer, make_venue, green_citizen, sessions):
    venue = await make_venue(status="closed")
    response = await check_in(client, green_citizen, signer.sign(venue.venue_id))
    assert response.status_code == 409
    assert response.json()["type"].endswith("/venue-closed")
    await _assert_nothing_recorded(sessions, venue.venue_id)


# --- screening ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("colour", "category", "outcome", "reason"),
    [
        ("green", VenueCategory.MALL, "admitted", "admitted"),
        ("yellow", VenueCategory.MALL, "admitted", "admitted_with_check"),
        ("yellow", VenueCategory.EVENT, "refused", "colour_yellow"),
        ("red", VenueCategory.MALL, "refused", "colour_red"),
        ("red", VenueCategory.HEALTHCARE, "admitted", "admitted_with_check"),
        ("black", VenueCategory.MALL, "refused", "colour_black"),
        ("black", VenueCategory.HEALTHCARE, "refused", "colour_black"),
        (None, VenueCategory.RESTAURANT, "refused", "colour_red"),
        (None, VenueCategory.PUBLIC_SERVICE, "admitted", "admitted_with_check"),
    ],
)
async def test_screening_by_colour_and_sector(
    client,
    signer,
    make_venue,
    citizen_factory,
    set_colour,
    sessions,
    colour,
    category,
    outcome,
    reason,
):
    venue = await make_venue(category=category)
    citizen = citizen_factory()
    if colour is not None:
        await set_colour(citizen.person_id, colour)
    response = await check_in(client, citizen, signer.sign(venue.venue_id))
    assert response.status_code == 200
    body = response.json()
    assert (body["outcome"], body["reason"]["code"]) == (outcome, reason)
    assert body["colour"] == (colour or "red")
    if outcome == "refused":
        assert body["visit_id"] is None
        assert await present(sessions, venue.venue_id) == 0
        assert await visits_at(sessions, venue.venue_id) == 0
        assert await refusals_at(sessions, venue.venue_id) == 1
    else:
        assert await present(sessions, venue.venue_id) == 1
        assert (await visit(sessions, body["visit_id"])).colour == body["colour"]


async def test_an_expired_status_is_screened_as_red(
    client, signer, make_venue, citizen_factory, set_colour
):
    venue = await make_venue()
    citizen = citizen_factory()
    await set_colour(citizen.person_id, "green", valid_until=datetime.now(UTC) - timedelta(hours=1))
    body = (await check_in(client, citizen, signer.sign(venue.venue_id))).json()
    assert (body["outcome"], body["colour"]) == ("refused", "red")


async def test_outside_opening_hours_is_refused(
    client, signer, make_venue, green_citizen, sessions
):
    # Open one minute a day, on a weekday that is not today in Jakarta.
    other_day = (datetime.now(UTC) + timedelta(hours=7) + timedelta(days=3)).weekday()
    venue = await make_venue(
        opening_hours=[OpeningHours(weekday=other_day, opens="03:00", closes="03:01")]
    )
    body = (await check_in(client, green_citizen, signer.sign(venue.venue_id))).json()
    assert (body["outcome"], body["reason"]["code"]) == ("refused", "outside_opening_hours")
    assert await refusals_at(sessions, venue.venue_id) == 1


async def test_closing_time_bounds_the_stay(client, signer, make_venue, green_citizen, sessions):
    now_local = datetime.now(UTC) + timedelta(hours=7)
    closes = now_local + timedelta(minutes=30)
    if closes.date() != now_local.date():
        pytest.skip("too close to midnight in Jakarta for this test")
    venue = await make_venue(
        opening_hours=[
            OpeningHours(
                weekday=now_local.weekday(), opens="00:00", closes=closes.strftime("%H:%M")
            )
        ]
    )
    body = (await check_in(client, green_citizen, signer.sign(venue.venue_id))).json()
    assert body["outcome"] == "admitted"
    auto = datetime.fromisoformat(body["auto_checkout_at"])
    assert auto - datetime.now(UTC) < timedelta(minutes=31)
    assert auto.astimezone(UTC).strftime("%H:%M") == (closes - timedelta(hours=7)).strftime("%H:%M")


# --- capacity and warnings --------------------------------------------------------------------


async def test_at_capacity_the_next_person_is_refused(
    client, signer, make_venue, citizen_factory, set_colour, sessions
):
    venue = await make_venue(capacity=2)
    outcomes = []
    for _ in range(3):
        citizen = citizen_factory()
        await set_colour(citizen.person_id, "green")
        body = (await check_in(client, citizen, signer.sign(venue.venue_id))).json()
        outcomes.append((body["outcome"], body["reason"]["code"], body["occupancy"]["present"]))
    assert outcomes == [
        ("admitted", "admitted", 1),
        ("admitted", "admitted", 2),
        ("refused", "venue_full", 2),
    ]
    assert await present(sessions, venue.venue_id) == 2


async def test_nearly_full_and_red_zone_warnings(
    client, signer, make_venue, citizen_factory, set_colour, sessions
):
    regency = f"{uuid.uuid4().int % 9000 + 1000}"
    venue = await make_venue(capacity=5, regency_code=regency)
    change = ZoneLevelChanged(
        regency_code=regency, level=4, previous_level=3, colour="red", changed_at=datetime.now(UTC)
    )
    async with sessions() as session, session.begin():
        await apply_zone_change(session, change, alert_days=3)
    codes = []
    for _ in range(4):
        citizen = citizen_factory()
        await set_colour(citizen.person_id, "green")
        body = (await check_in(client, citizen, signer.sign(venue.venue_id))).json()
        codes.append([w["code"] for w in body["warnings"]])
    assert codes[0] == ["red_zone"]
    assert codes[3] == ["venue_nearly_full", "red_zone"]  # 4 of 5 = 80 %


# --- idempotency ----------------------------------------------------------------------------


async def test_a_retried_scan_with_the_same_client_id_changes_nothing(
    client, signer, make_venue, green_citizen, sessions
):
    venue = await make_venue()
    qr = signer.sign(venue.venue_id)
    first = (await check_in(client, green_citizen, qr, client_id="scan-1")).json()
    again = (await check_in(client, green_citizen, qr, client_id="scan-1")).json()
    assert again["visit_id"] == first["visit_id"]
    assert again["outcome"] == "admitted"
    assert again["replayed"] is True
    assert await visits_at(sessions, venue.venue_id) == 1
    assert await present(sessions, venue.venue_id) == 1


async def test_a_venue_written_by_any_means_has_room(client, signer, green_citizen, sessions):
    from sqlalchemy import text

    venue_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO venues (venue_id, manager_id, name, category, regency_code, timezone, "
                "capacity, effective_capacity, max_stay_minutes, updated_at) VALUES (:v, 'm', "
                "'Warung', 'restaurant', '3171', 'Asia/Jakarta', 3, 3, 60, now())"
            ),
            {"v": venue_id},
        )
    body = (await check_in(client, green_citizen, signer.sign(venue_id))).json()
    assert (body["outcome"], body["occupancy"]) == ("admitted", {"present": 1, "capacity": 3})


async def test_simultaneous_retries_of_one_scan_answer_alike(
    db_settings, make_venue, green_citizen, sessions
):
    import asyncio

    from lindung_checkin.checkins.repository import scan
    from lindung_checkin.database import create_pool

    venue = await make_venue(capacity=1000)
    pool = await create_pool(db_settings, min_size=6)
    try:
        for round_ in range(5):
            now = datetime.now(UTC)
            rows = await asyncio.gather(
                *(
                    scan(
                        pool,
                        person_id=green_citizen.person_id,
                        venue_id=venue.venue_id,
                        qr_id=None,
                        entrance="main",
                        at=now,
                        client_id=f"same-scan-{round_}",
                        source="online",
                        live=True,
                        rule_version="sector-2021-09",
                        visit_id=uuid.uuid4(),
                    )
                    for _ in range(6)
                )
            )
            assert len({r["o_visit_id"] for r in rows}) == 1
            assert sum(r["o_replayed"] for r in rows) == 5
    finally:
        await pool.close()
    # Five distinct scans of the same venue: in, out (rescan), in, out, in.
    assert await visits_at(sessions, venue.venue_id) == 3
    assert await present(sessions, venue.venue_id) == 1


async def test_a_retired_key_stops_a_payload_that_was_already_verified(
    client, make_venue, green_citizen, sessions
):
    """Verified payloads are cached per key set; reloading the keys must drop them."""
    from lindung_checkin.trust.handlers import on_key_retired
    from lindung_shared.events import make_event as event_of
    from lindung_shared.events.catalogue import QrKeyRetired

    venue = await make_venue()
    soon_retired = QrSigner(Ed25519PrivateKey.generate(), f"retiring-{uuid.uuid4().hex[:6]}")
    await publish_key(sessions, soon_retired)
    payload = soon_retired.sign(venue.venue_id)
    first = await check_in(client, green_citizen, payload)
    assert first.json()["outcome"] == "admitted"

    async with sessions() as session, session.begin():
        await on_key_retired(
            session,
            event_of(
                "qr_key.retired",
                QrKeyRetired(key_id=soon_retired.key_id, retired_at=datetime.now(UTC)),
            ),
        )
    door = client._transport.app.state.door
    await door.keys.load(door.pool)  # what the periodic refresh does
    again = await check_in(client, green_citizen, payload)
    assert again.status_code == 422
    assert again.json()["type"].endswith("/qr-unknown-key")


async def test_one_documented_route_parses_and_authorises_a_check_in(
    client, db_settings, signer, make_venue, green_citizen
):
    """POST /v1/checkins is served by exactly one route, the documented FastAPI one, with the
    shared bearer check of every other route (so checks added there apply to check-ins)."""
    app = client._transport.app
    assert not [r for r in app.router.routes if getattr(r, "path", None) == "/v1/checkins"]
    routes = [
        r
        for r in checkins_router.routes
        if isinstance(r, APIRoute) and r.path == "/v1/checkins" and "POST" in r.methods
    ]
    assert len(routes) == 1
    dependencies = [d.call for d in routes[0].dependant.dependencies]
    assert any(isinstance(call, Bearer) and call.roles == (Role.CITIZEN,) for call in dependencies)

    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/checkins"]["post"]
    assert operation["security"] == [{"HTTPBearer": []}]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert spec["components"]["schemas"][body_schema.rsplit("/", 1)[1]]["examples"]

    venue = await make_venue()
    qr = signer.sign(venue.venue_id)
    for headers, status in (
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        (bearer(db_settings, "venue_manager", "m-1"), 403),
    ):
        refused = await client.post("/v1/checkins", json={"qr": qr}, headers=headers)
        assert refused.status_code == status, headers
        assert refused.headers["content-type"] == "application/problem+json"
    for content, content_type in (
        (b"{not json", "application/json"),
        (b'{"qr": ""}', "application/json"),
        (b'{"qr": "x", "scanned_at": "yesterday"}', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b'{"qr": "LINDUNG1:a.b.c"}', "text/plain"),
    ):
        headers = {**green_citizen.headers, "content-type": content_type}
        bad = await client.post("/v1/checkins", content=content, headers=headers)
        assert bad.status_code == 422, content
        assert bad.headers["content-type"] == "application/problem+json"
    admitted = await client.post("/v1/checkins", json={"qr": qr}, headers=green_citizen.headers)
    assert admitted.json()["outcome"] == "admitted"
    # Labelled by its path in the metrics.
    metrics = (await client.get("/metrics")).text
    assert 'method="POST",route="/v1/checkins"' in metrics
