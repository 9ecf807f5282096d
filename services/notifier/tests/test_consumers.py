"""Real events on the shared Kafka topics -> notifications in the test database."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from lindung_notifier.consumers import TOPICS, build_consumer
from lindung_notifier.recipients.identity import manager_recipient
from lindung_notifier.testing import opened, sealed
from lindung_shared.events import DEAD_LETTER_TOPIC, encode_envelope
from lindung_shared.events import TOPICS as CATALOGUE_TOPICS
from lindung_shared.events.catalogue import (
    ExposureDetected,
    PersonContactChanged,
    PersonContactChangedV2,
    PersonPhoneChanged,
    SignInCodeIssued,
    SignInCodeIssuedV2,
    VenueCaseVisited,
    VenueCaseVisitRetracted,
    VenueCrowding,
    VenueSnapshot,
    ZoneVisitorAlert,
    make_event,
)
from lindung_shared.kafka import create_producer
from lindung_shared.kafka.security import kafka_security
from lindung_shared.sealing import Sealer
from lindung_shared.testing import start_at_the_end, unique
from sqlalchemy import text


@pytest.fixture(scope="module")
async def producer(settings) -> AsyncIterator[AIOKafkaProducer]:
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="notifier-tests")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture(scope="module")
async def consumer(settings, sessionmaker, producer) -> AsyncIterator[Any]:
    group = unique("notifier-test")
    await start_at_the_end(settings.kafka_bootstrap_servers, group, TOPICS)
    runner = build_consumer(
        settings, group_id=group, sessionmaker=sessionmaker, dead_letters=producer
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    yield runner
    stop.set()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, timeout=20)


async def send(producer: AIOKafkaProducer, event: Any) -> None:
    from lindung_shared.events.catalogue import spec_for

    await producer.send_and_wait(
        spec_for(event.type, event.version).topic,
        value=encode_envelope(event),
        key=event.key.encode(),
        headers=[
            ("event-type", event.type.encode()),
            ("event-version", str(event.version).encode()),
        ],
    )


async def eventually(check: Callable[[], Awaitable[Any]], seconds: float = 20) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the effect did not happen in time")
        await asyncio.sleep(0.1)


async def inbox(sessionmaker, recipient: str) -> list[Any]:
    async with sessionmaker() as session:
        return list(
            await session.execute(
                text(
                    "SELECT kind, language, title, body, data, in_inbox, id FROM notifications "
                    "WHERE recipient = :r ORDER BY seq"
                ),
                {"r": recipient},
            )
        )


async def channels_of(sessionmaker, recipient: str) -> list[tuple[str, str | None]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT d.channel, d.destination FROM deliveries d JOIN notifications n "
                "ON n.id = d.notification_id WHERE n.recipient = :r ORDER BY d.channel"
            ),
            {"r": recipient},
        )
        # Phones rest sealed: opened here to see where the SMS will go.
        found = [(r[0], r[1]) for r in rows]
        assert not any(d is not None and d.startswith("+") for _, d in found), found
        return [(channel, opened(d) if channel == "sms" else d) for channel, d in found]


def exposure(contact: uuid.UUID, *, tz: str = "Asia/Makassar") -> Any:
    start = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10.00 WITA
    return make_event(
        "exposure.detected",
        ExposureDetected(
            exposure_id=uuid.uuid4(),
            case_ref="CASE-7",
            contact_person_id=contact,
            venue_id=uuid.uuid4(),
            venue_name="Pasar Kumbasari",
            venue_timezone=tz,
            overlap_start=start,
            overlap_end=start + timedelta(minutes=50),
            overlap_minutes=50,
        ),
    )


async def test_exposure_in_the_person_language_with_venue_time_and_once_on_replay(
    consumer, producer, sessionmaker
) -> None:
    person = uuid.uuid4()
    await send(
        producer,
        make_event(
            "person.contact_changed",
            PersonContactChanged(person_id=person, phone_e164="+6281300000001", language="en"),
            version=1,  # a v1 event (clear phone) is still read, and sealed on arrival
        ),
    )

    async def has_contact() -> bool:
        async with sessionmaker() as session:
            found = await session.execute(
                text("SELECT 1 FROM recipients WHERE subject = :s"), {"s": str(person)}
            )
            return found.first() is not None

    await eventually(has_contact)
    event = exposure(person)
    await send(producer, event)
    rows = await eventually(lambda: inbox(sessionmaker, str(person)))
    kind, language, title, body, data, in_inbox, _ = rows[0]
    assert (kind, language, in_inbox) == ("exposure", "en", True)
    assert title == "You were a close contact of a COVID-19 case"
    assert "from 20 Nov 2026, 10:00 WITA to 20 Nov 2026, 10:50 WITA" in body
    assert "until 4 Dec 2026" in body
    assert data["quarantine_until"] == "2026-12-04"
    assert await channels_of(sessionmaker, str(person)) == [("sms", "+6281300000001")]

    # The same event again (a producer retry, a replay): still one notification.
    batches = consumer.batches_committed
    await send(producer, event)
    await eventually(lambda: asyncio.sleep(0, consumer.batches_committed > batches))
    assert len(await inbox(sessionmaker, str(person))) == 1
    assert len(await channels_of(sessionmaker, str(person))) == 1


async def test_sign_in_code_goes_by_sms_only_in_the_event_language(
    consumer, producer, sessionmaker
) -> None:
    person = uuid.uuid4()
    await send(
        producer,
        make_event(
            "sign_in.code_issued",
            SignInCodeIssued(
                person_id=person,
                phone_e164="+6281300000002",
                code="424242",
                language="id",
                expires_at=datetime.now(UTC) + timedelta(minutes=5),
            ),
            version=1,
        ),
    )
    rows = await eventually(lambda: inbox(sessionmaker, str(person)))
    kind, language, _, body, _, in_inbox, _ = rows[0]
    assert (kind, language, in_inbox) == ("sign_in_code", "id", False)
    assert "424242" in body
    assert await channels_of(sessionmaker, str(person)) == [("sms", "+6281300000002")]


async def test_a_sealed_sign_in_code_is_opened_for_the_sms_only(
    consumer, producer, sessionmaker, settings
) -> None:
    sealer = Sealer(settings.contact_seal_key.get_secret_value())
    person = uuid.uuid4()
    await send(
        producer,
        make_event(
            "sign_in.code_issued",
            SignInCodeIssuedV2(
                person_id=person,
                phone_sealed=sealer.seal("+6281300000005", "phone"),
                code_sealed=sealer.seal("515151", "code"),
                language="en",
                expires_at=datetime.now(UTC) + timedelta(minutes=5),
            ),
        ),
    )
    rows = await eventually(lambda: inbox(sessionmaker, str(person)))
    assert "515151" in rows[0][3]
    assert await channels_of(sessionmaker, str(person)) == [("sms", "+6281300000005")]
    async with sessionmaker() as session:
        stored = (
            await session.execute(
                text("SELECT phone_sealed FROM recipients WHERE subject = :s"), {"s": str(person)}
            )
        ).scalar_one_or_none()
    assert stored is None  # a code carries its own phone; it is not the person's contact


async def test_a_phone_change_is_told_to_the_old_number_only(
    consumer, producer, sessionmaker
) -> None:
    person = uuid.uuid4()
    changed_at = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    for event in (
        make_event(
            "person.phone_changed",
            PersonPhoneChanged(
                person_id=person,
                old_phone_sealed=sealed("+6281300000003"),
                language="en",
                changed_at=changed_at,
                by="officer",
            ),
        ),
        make_event(
            "person.contact_changed",
            PersonContactChangedV2(
                person_id=person, phone_sealed=sealed("+6281300000004"), language="en"
            ),
        ),
    ):
        await send(producer, event)
    rows = await eventually(lambda: inbox(sessionmaker, str(person)))
    kind, language, title, body, _, in_inbox, _ = rows[0]
    assert (kind, language, in_inbox) == ("phone_changed", "en", False)
    assert title == "Lindung phone number moved"
    assert "A health officer moved" in body
    assert await channels_of(sessionmaker, str(person)) == [("sms", "+6281300000003")]


async def test_crowding_goes_to_the_manager_in_the_venue_zone(
    consumer, producer, sessionmaker
) -> None:
    venue_id, manager = uuid.uuid4(), "mgr-" + uuid.uuid4().hex
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    await send(
        producer,
        make_event(
            "venue.registered",
            VenueSnapshot(
                venue_id=venue_id,
                manager_id=manager,
                name="Mal Jayapura",
                category="mall",
                regency_code="9471",
                timezone="Asia/Jayapura",
                latitude=-2.5,
                longitude=140.7,
                capacity=100,
                effective_capacity=100,
                max_stay_minutes=120,
                updated_at=now,
            ),
        ),
    )

    async def has_venue() -> bool:
        async with sessionmaker() as session:
            found = await session.execute(
                text("SELECT 1 FROM venues WHERE venue_id = :v"), {"v": venue_id}
            )
            return found.first() is not None

    await eventually(has_venue)
    await send(
        producer,
        make_event(
            "venue.crowding",
            VenueCrowding(
                venue_id=venue_id,
                manager_id=manager,
                venue_name="Mal Jayapura",
                present=100,
                capacity=100,
                threshold_percent=100,
                at=now,
            ),
        ),
    )
    rows = await eventually(lambda: inbox(sessionmaker, manager_recipient(manager)))
    _, language, title, body, _, _, _ = rows[0]
    assert language == "id" and title == "Mal Jayapura penuh"
    assert "pada 25 Nov 2026 12.00 WIT" in body
    assert (
        await channels_of(sessionmaker, manager_recipient(manager)) == []
    )  # no device, no phone: inbox only


async def test_a_retracted_case_visit_corrects_the_managers_alert(
    consumer, producer, sessionmaker
) -> None:
    venue_id, manager = uuid.uuid4(), "mgr-" + uuid.uuid4().hex
    start = datetime(2026, 11, 20, 2, 10, tzinfo=UTC)  # 10.10 WITA
    visit = {
        "case_ref": "CASE-9",
        "venue_id": venue_id,
        "manager_id": manager,
        "venue_name": "Pasar Kumbasari",
        "venue_timezone": "Asia/Makassar",
        "visit_start": start,
        "visit_end": start + timedelta(minutes=65),  # 11.15 WITA
    }
    await send(producer, make_event("venue.case_visited", VenueCaseVisited(**visit)))
    await send(producer, make_event("venue.case_visit_retracted", VenueCaseVisitRetracted(**visit)))
    rows = await eventually(
        lambda: _at_least(
            inbox(sessionmaker, manager_recipient(manager)), 2
        )  # keyed by venue: in order
    )
    assert [r[0] for r in rows] == ["venue_case", "venue_case_correction"]
    for _, language, _, body, data, _, _ in rows:
        # The day and a three-hour band; not the exact stay, not the case.
        assert language == "id"
        assert "20 Nov 2026, antara pukul 09.00-12.00 WITA" in body
        assert "10.10" not in body and "11.15" not in body and "CASE-9" not in body
        assert data == {"venue_id": str(venue_id), "day": "2026-11-20", "hour_band": [9, 12]}
    assert rows[1][2] == "Koreksi: kunjungan kasus di Pasar Kumbasari dibatalkan"


async def _at_least(rows: Awaitable[list[Any]], n: int) -> list[Any] | None:
    found = await rows
    return found if len(found) >= n else None


async def dead_letters_for(
    settings, marker: bytes, group: str, since: dict[TopicPartition, int]
) -> list[Any]:
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        **kafka_security(),
    )
    await reader.start()
    try:
        reader.assign(list(since))
        for tp, offset in since.items():
            reader.seek(tp, offset)
        found = []
        batch = await reader.getmany(timeout_ms=1000, max_records=1000)
        for records in batch.values():
            for r in records:
                headers = dict(r.headers or ())
                if (
                    marker in (r.value or b"")
                    and headers.get("dlq-consumer-group") == group.encode()
                ):
                    found.append((r, headers))
        return found
    finally:
        await reader.stop()


async def dead_letter_ends(settings) -> dict[TopicPartition, int]:
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        **kafka_security(),
    )
    await reader.start()
    try:
        partitions = [
            TopicPartition(DEAD_LETTER_TOPIC, p)
            for p in range(CATALOGUE_TOPICS[DEAD_LETTER_TOPIC].partitions)
        ]
        return dict((await reader.end_offsets(partitions)).items())
    finally:
        await reader.stop()


async def test_bad_events_are_dead_lettered_and_the_rest_goes_on(
    settings, consumer, producer, sessionmaker
) -> None:
    since = await dead_letter_ends(settings)
    # A producer name a dead letter keeps (a lowercase name; a bare hex may start with a digit).
    marker = f"test-{uuid.uuid4().hex}"
    person = uuid.uuid4()
    # Dead letters are scrubbed (ids and times kept): they are found by their event ids.
    type_id, version_id = uuid.uuid4(), uuid.uuid4()
    unknown_type = orjson.dumps(
        {
            "id": str(type_id),
            "type": "exposure.guessed",
            "version": 1,
            "occurred_at": "2026-11-25T10:00:00Z",
            "producer": marker,
            "key": str(person),
            "payload": {},
        }
    )
    unknown_version = orjson.dumps(
        {
            "id": str(version_id),
            "type": "exposure.detected",
            "version": 9,
            "occurred_at": "2026-11-25T10:00:00Z",
            "producer": marker,
            "key": str(person),
            "payload": {},
        }
    )
    for value, event_type, version in (
        (unknown_type, b"exposure.guessed", b"1"),
        (unknown_version, b"exposure.detected", b"9"),
    ):
        await producer.send_and_wait(
            "lindung.exposures",
            value=value,
            key=str(person).encode(),
            headers=[("event-type", event_type), ("event-version", version)],
        )
    # A valid event whose template does not exist (no message for a green zone).
    green = make_event(
        "zone.visitor_alert",
        ZoneVisitorAlert(
            person_id=person,
            regency_code="5171",
            level=1,
            colour="green",
            last_visit_at=datetime(2026, 11, 24, tzinfo=UTC),
            changed_at=datetime(2026, 11, 25, tzinfo=UTC),
        ),
    )
    await send(producer, green)
    # ... and a good one after them, which must still arrive.
    await send(producer, exposure(person, tz="Asia/Jakarta"))
    await eventually(lambda: inbox(sessionmaker, str(person)))

    async def three_dead() -> list[Any]:
        found = []
        for event_id in (type_id, version_id, green.id):
            found += await dead_letters_for(
                settings, str(event_id).encode(), consumer.group_id, since
            )
        return found if len(found) == 3 else []

    found = await eventually(three_dead)
    reasons = sorted(h["dlq-reason"].decode() for _, h in found)
    assert reasons == ["unknown-event-type", "unknown-template", "unsupported-event-version"]
    for record, headers in found:
        assert headers["dlq-source-topic"] in (b"lindung.exposures", b"lindung.zone-alerts")
        assert headers["dlq-service"] == b"notifier"
        assert record.key == str(person).encode()
    assert [r[0] for r in await inbox(sessionmaker, str(person))] == ["exposure"]


async def test_the_same_event_twice_in_one_batch_notifies_once(consumer, sessionmaker) -> None:
    from types import SimpleNamespace

    person = uuid.uuid4()
    event = exposure(person)
    await consumer._apply(
        [SimpleNamespace(event=event), SimpleNamespace(event=event)], isolate=False
    )
    assert len(await inbox(sessionmaker, str(person))) == 1
