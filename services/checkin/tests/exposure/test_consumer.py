"""The matcher end to end through real Kafka: ``case.confirmed`` on ``lindung.cases`` in,
``exposure.detected`` / ``venue.case_visited`` out (through the outbox relay), exactly once
however often the case is delivered; ``case.retracted`` withdraws them."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from lindung_checkin.exposure.consumer import exposure_consumer
from lindung_checkin.exposure.settings import ExposureSettings
from lindung_checkin.settings import Settings
from lindung_shared.events import TOPICS, Envelope, decode_event, encode_envelope, make_event
from lindung_shared.events.catalogue import CaseConfirmed, CaseRetracted
from lindung_shared.kafka import create_producer
from lindung_shared.kafka.security import kafka_security
from lindung_shared.outbox import OutboxRelay
from lindung_shared.testing import unique
from sqlalchemy import text

OUT_TOPICS = ("lindung.exposures", "lindung.venue-alerts")


@pytest.fixture(scope="module")
async def producer(exposure_db: Settings) -> AsyncIterator[AIOKafkaProducer]:
    producer = create_producer(exposure_db.kafka_bootstrap_servers, client_id=unique("exp-test"))
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
async def matcher(exposure_db, exposure_sessions, producer) -> AsyncIterator[None]:
    """The matcher's consumer (own group) and the outbox relay, running in the background."""
    settings = ExposureSettings(consumer_group=unique("checkin.exposure-matcher-test"))
    consumer = exposure_consumer(
        sessionmaker=exposure_sessions,
        bootstrap_servers=exposure_db.kafka_bootstrap_servers,
        dead_letters=producer,
        settings=settings,
    )
    dsn = exposure_db.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    relay = OutboxRelay(dsn=dsn, producer=producer, service="checkin-test")
    stop = asyncio.Event()
    tasks = [asyncio.create_task(consumer.run(stop)), asyncio.create_task(relay.run(stop))]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait(tasks, timeout=15)


class Outputs:
    """Reads what reaches the output topics from now on."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, **kafka_security()
        )
        self.seen: list[Envelope[Any]] = []
        self.refs: list[bytes] = []

    async def start(self) -> None:
        await self.consumer.start()
        partitions = [
            TopicPartition(topic, p)
            for topic in OUT_TOPICS
            for p in range(TOPICS[topic].partitions)
        ]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)

    async def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            batch = await self.consumer.getmany(timeout_ms=200)
            for records in batch.values():
                # The topics are shared: decode (and validate) only this test's events.
                self.seen.extend(
                    decode_event(r.value)
                    for r in records
                    if r.value and any(ref in r.value for ref in self.refs)
                )

    async def wait_for(self, case_ref: str, event_type: str, count: int, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(case_ref, event_type)
            if len(found) >= count:
                return found
            await self.drain(0.3)
        raise AssertionError(f"saw {len(self.of(case_ref, event_type))} {event_type}, not {count}")

    def of(self, case_ref: str, event_type: str) -> list[Envelope[Any]]:
        return [e for e in self.seen if e.type == event_type and e.payload.case_ref == case_ref]


@pytest.fixture
async def outputs(exposure_db: Settings) -> AsyncIterator[Outputs]:
    out = Outputs(exposure_db.kafka_bootstrap_servers)
    try:
        await out.start()
        yield out
    finally:
        await out.consumer.stop()


async def publish(producer: AIOKafkaProducer, event: Envelope[Any]) -> None:
    await producer.send_and_wait(
        "lindung.cases",
        value=encode_envelope(event),
        key=event.key.encode(),
        headers=[("event-type", event.type.encode()), ("event-version", b"1")],
    )


async def wait_until_handled(sessions, group_ids: list[uuid.UUID], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with sessions() as session:
            done = (
                await session.execute(
                    text(
                        "SELECT count(*) FROM processed_events WHERE event_id = ANY(:ids) "
                        "AND NOT EXISTS (SELECT 1 FROM outbox)"
                    ),
                    {"ids": group_ids},
                )
            ).scalar_one()
        if done == len(group_ids):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the matcher did not handle the events in time")


async def test_a_case_reaches_its_contacts_exactly_once(
    exposure_sessions, seed, new_venue, producer, matcher, outputs
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    mall = new_venue("mall", name="Mal Kota Kasablanka", timezone="Asia/Jakarta")
    case_person = uuid.uuid4()
    contacts = [uuid.uuid4() for _ in range(3)]
    stranger = uuid.uuid4()

    def v(person: uuid.UUID, start_h: float, hours: float) -> dict[str, Any]:
        start = now - timedelta(hours=start_h)
        return {
            "visit_id": uuid.uuid4(),
            "person_id": person,
            "venue_id": mall["venue_id"],
            "checked_in_at": start,
            "checked_out_at": start + timedelta(hours=hours),
            "auto_checkout_at": start + timedelta(hours=4),
        }

    visits = [v(case_person, 30, 2), v(case_person, 6, 1)]
    visits += [v(c, 29.5, 1) for c in contacts[:2]] + [v(contacts[2], 5.5, 2), v(stranger, 10, 1)]
    async with exposure_sessions() as session, session.begin():
        await seed(session, [mall], visits)

    case = CaseConfirmed(
        case_id=uuid.uuid4(),
        case_ref=f"K-{uuid.uuid4().hex[:8]}",
        person_id=case_person,
        sample_taken_at=now - timedelta(hours=1),
        infectious_from=now - timedelta(days=2),
        infectious_until=now + timedelta(days=8),
    )
    outputs.refs.append(case.case_ref.encode())
    confirmed = make_event("case.confirmed", case)
    await publish(producer, confirmed)

    detected = await outputs.wait_for(case.case_ref, "exposure.detected", 3)
    alerts = await outputs.wait_for(case.case_ref, "venue.case_visited", 2)
    assert sorted(e.payload.contact_person_id for e in detected) == sorted(contacts)
    assert all(e.key == str(e.payload.contact_person_id) for e in detected)
    assert {e.payload.venue_name for e in detected} == {"Mal Kota Kasablanka"}
    assert not any(str(case_person) in e.payload.model_dump_json() for e in detected + alerts)
    assert {e.payload.manager_id for e in alerts} == {mall["manager_id"]}

    # Redelivered, and re-sent by the producer under a new event id: nothing new.
    again = make_event("case.confirmed", case)
    await publish(producer, confirmed)
    await publish(producer, again)
    await wait_until_handled(exposure_sessions, [confirmed.id, again.id])
    await outputs.drain(1.0)
    assert len(outputs.of(case.case_ref, "exposure.detected")) == 3
    assert len(outputs.of(case.case_ref, "venue.case_visited")) == 2

    retracted = make_event(
        "case.retracted",
        CaseRetracted(
            case_id=case.case_id,
            case_ref=case.case_ref,
            person_id=case_person,
            retracted_at=datetime.now(UTC),
        ),
    )
    await publish(producer, retracted)
    withdrawn = await outputs.wait_for(case.case_ref, "exposure.retracted", 3)
    assert {e.payload.exposure_id for e in withdrawn} == {e.payload.exposure_id for e in detected}
    with contextlib.suppress(AssertionError):
        await outputs.wait_for(case.case_ref, "exposure.retracted", 4, timeout=1)
    assert len(outputs.of(case.case_ref, "exposure.retracted")) == 3
