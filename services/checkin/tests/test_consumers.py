"""The worker's consumers through real Kafka: produce an event, watch the local copy change."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lindung_checkin.consumers import build_consumers
from lindung_checkin.settings import Settings
from lindung_shared.events import Envelope, encode_envelope, spec_for
from lindung_shared.events.catalogue import (
    Colour,
    QrKeyPublished,
    QrKeyRetired,
    StatusChanged,
    VenueClosed,
    ZoneLevelChanged,
    ZoneVisitorAlert,
    make_event,
)
from lindung_shared.kafka import create_producer, ensure_topics
from lindung_shared.qr import jwk_from_public_key
from lindung_shared.testing import start_at_the_end, unique
from lindung_shared.worker import WorkerContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .conftest import venue_snapshot
from .helpers import rows, scalar

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
async def running_consumers(
    db_settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Any]:
    await ensure_topics(db_settings.kafka_bootstrap_servers)
    producer = create_producer(
        db_settings.kafka_bootstrap_servers, client_id=unique("checkin-test")
    )
    await producer.start()
    ctx = WorkerContext(db_settings, engine, sessions, producer)
    consumers = build_consumers(ctx, db_settings, group_prefix=unique("checkin-test"))
    for c in consumers:
        await start_at_the_end(db_settings.kafka_bootstrap_servers, c.group_id, c.topics)
    tasks = [asyncio.create_task(c.run(ctx.stop)) for c in consumers]
    try:
        yield producer
    finally:
        ctx.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()


async def produce(producer, event: Envelope[Any]) -> None:
    await producer.send_and_wait(
        spec_for(event.type, event.version).topic,
        value=encode_envelope(event),
        key=event.key.encode(),
        headers=[
            ("event-type", event.type.encode()),
            ("event-version", str(event.version).encode()),
        ],
    )


async def eventually(probe, expected, timeout: float = 45.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value == expected:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {value!r}, expected {expected!r}")
        await asyncio.sleep(0.2)


async def test_venue_events_keep_the_local_copy(running_consumers, sessions):
    venue = venue_snapshot(capacity=50)
    await produce(running_consumers, make_event("venue.registered", venue))

    async def capacity():
        return await scalar(
            sessions, "SELECT effective_capacity FROM venues WHERE venue_id = :v", v=venue.venue_id
        )

    await eventually(capacity, 50)
    assert (
        await scalar(
            sessions, "SELECT present FROM venue_occupancy WHERE venue_id = :v", v=venue.venue_id
        )
        == 0
    )
    updated = venue.model_copy(
        update={"effective_capacity": 25, "updated_at": venue.updated_at + timedelta(seconds=1)}
    )
    await produce(running_consumers, make_event("venue.updated", updated))
    await eventually(capacity, 25)
    await produce(
        running_consumers,
        make_event(
            "venue.closed", VenueClosed(venue_id=venue.venue_id, closed_at=datetime.now(UTC))
        ),
    )

    async def status():
        return await scalar(
            sessions, "SELECT status FROM venues WHERE venue_id = :v", v=venue.venue_id
        )

    await eventually(status, "closed")


async def test_status_changes_keep_the_local_colour(running_consumers, sessions):
    person = uuid.uuid4()
    now = datetime.now(UTC)
    for colour, at in (("yellow", now), ("green", now + timedelta(seconds=1))):
        await produce(
            running_consumers,
            make_event(
                "status.changed",
                StatusChanged(
                    person_id=person, colour=Colour(colour), rule_version="r1", changed_at=at
                ),
            ),
        )

    async def colour():
        return await scalar(
            sessions, "SELECT colour FROM person_status WHERE person_id = :p", p=person
        )

    await eventually(colour, "green")


async def test_keys_are_trusted_and_retired(running_consumers, sessions):
    key_id = f"qr-{uuid.uuid4().hex[:8]}"
    jwk = jwk_from_public_key(Ed25519PrivateKey.generate().public_key(), key_id)
    await produce(
        running_consumers,
        make_event(
            "qr_key.published",
            QrKeyPublished(key_id=key_id, jwk=jwk, status="active", published_at=datetime.now(UTC)),
        ),
    )

    async def status():
        return await scalar(sessions, "SELECT status FROM qr_keys WHERE key_id = :k", k=key_id)

    await eventually(status, "active")
    await produce(
        running_consumers,
        make_event("qr_key.retired", QrKeyRetired(key_id=key_id, retired_at=datetime.now(UTC))),
    )
    await eventually(status, "retired")


async def test_a_regency_turning_red_alerts_its_recent_visitors_once_each(
    running_consumers, client, signer, make_venue, citizen_factory, set_colour, sessions
):
    regency = f"{uuid.uuid4().int % 9000 + 1000}"
    venue_a = await make_venue(regency_code=regency)
    venue_b = await make_venue(regency_code=regency)
    people = [citizen_factory() for _ in range(3)]
    for p in people:
        await set_colour(p.person_id, "green")
    # The first person visits both venues: still one alert.
    for venue in (venue_a, venue_b):
        await client.post(
            "/v1/checkins", json={"qr": signer.sign(venue.venue_id)}, headers=people[0].headers
        )
    for p in people[1:]:
        await client.post(
            "/v1/checkins", json={"qr": signer.sign(venue_a.venue_id)}, headers=p.headers
        )
    await produce(
        running_consumers,
        make_event(
            "zone.level_changed",
            ZoneLevelChanged(
                regency_code=regency,
                level=4,
                previous_level=2,
                colour="red",
                changed_at=datetime.now(UTC) + timedelta(seconds=1),
            ),
        ),
    )

    async def alerted():
        found = await rows(
            sessions,
            "SELECT key FROM outbox WHERE type = 'zone.visitor_alert' "
            "AND payload->>'regency_code' = :r ORDER BY key",
            r=regency,
        )
        return sorted(r.key for r in found)

    await eventually(alerted, sorted(str(p.person_id) for p in people))
    level = await scalar(sessions, "SELECT level FROM zones WHERE regency_code = :r", r=regency)
    assert level == 4
    # What the relay will publish validates against the catalogue (the notifier's contract).
    payloads = await rows(
        sessions,
        "SELECT payload FROM outbox WHERE type = 'zone.visitor_alert' "
        "AND payload->>'regency_code' = :r",
        r=regency,
    )
    for (payload,) in payloads:
        alert = ZoneVisitorAlert.model_validate(payload)
        assert alert.level == 4
