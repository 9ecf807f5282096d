"""The delivery guarantees of the plumbing, on the real broker and database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.events import DEAD_LETTER_TOPIC, TOPICS, Topic, encode_envelope
from lindung_shared.kafka import create_producer, ensure_topics, topic_retention_ms
from lindung_shared.kafka.consumer import EventConsumer, PermanentEventError
from lindung_shared.kafka.security import kafka_security
from lindung_shared.outbox import OutboxRelay, add_events
from lindung_shared.testing import unique
from sqlalchemy import text

from .kafkahelp import eventually, private_topic, produce, zone_event

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
async def producer(base_settings):
    p = create_producer(base_settings.kafka_bootstrap_servers, client_id="shared-tests")
    await p.start()
    yield p
    await p.stop()


async def _applied(sessions, keys=None) -> list[tuple[str, str]]:
    async with sessions() as s:
        rows = (await s.execute(text("SELECT event_id::text, key FROM applied"))).all()
    return [(e, k) for e, k in rows if keys is None or k in keys]


async def _apply(session, event):
    if event.payload.regency_code == "6666":
        raise PermanentEventError("this regency is poison")
    await session.execute(
        text("INSERT INTO applied (event_id, key) VALUES (:e, :k)"), {"e": event.id, "k": event.key}
    )


def _consumer(settings, sessions, producer, topic, group, **kw) -> EventConsumer:
    return EventConsumer(
        service="shared-tests",
        group_id=group,
        topics=[topic],
        handlers={"zone.level_changed": _apply},
        sessionmaker=sessions,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        dead_letters=producer,
        **kw,
    )


@contextlib.asynccontextmanager
async def running(*tasks):
    stop = asyncio.Event()
    futures = [asyncio.create_task(t(stop)) for t in tasks]
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*futures), timeout=30)


async def test_an_event_written_to_one_services_outbox_is_consumed_by_another(
    base_settings, producer_db, consumer_sessions, producer
):
    topic = await private_topic(base_settings.kafka_bootstrap_servers)
    event = zone_event(regency="1101")
    engine = create_engine(producer_db)
    async with create_sessionmaker(engine)() as session, session.begin():
        await add_events(session, [event])
        # Route it to this test's private topic so no other consumer sees test data.
        await session.execute(
            text("UPDATE outbox SET topic = :t WHERE event_id = :e"), {"t": topic, "e": event.id}
        )
    relay = OutboxRelay(
        dsn=producer_db.sqlalchemy_url.replace("+asyncpg", ""),
        producer=producer,
        service="test-producer",
    )
    standby = OutboxRelay(
        dsn=producer_db.sqlalchemy_url.replace("+asyncpg", ""),
        producer=producer,
        service="test-producer",
    )
    consumer = _consumer(base_settings, consumer_sessions, producer, topic, unique("outbox"))
    async with running(relay.run, standby.run, consumer.run):

        async def arrived():
            return (str(event.id), "1101") in await _applied(consumer_sessions)

        await eventually(arrived, what="the event to be applied by the consumer")
        assert [relay.is_leader, standby.is_leader].count(True) == 1
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar() == 0
    await engine.dispose()


async def test_bad_messages_go_to_the_dead_letter_topic_and_the_rest_goes_on(
    base_settings, consumer_sessions, producer
):
    topic = await private_topic(base_settings.kafka_bootstrap_servers, partitions=1)
    dlq = AIOKafkaConsumer(
        DEAD_LETTER_TOPIC,
        bootstrap_servers=base_settings.kafka_bootstrap_servers,
        group_id=unique("dlq-reader"),
        auto_offset_reset="latest",
        **kafka_security(),
    )
    await dlq.start()
    try:
        await dlq.seek_to_end()
        await dlq.getmany(timeout_ms=500)  # make sure the position is resolved to the end
        good_before, good_after = zone_event("1102"), zone_event("1103")
        poison = zone_event("6666")
        await produce(producer, topic, [good_before])
        await producer.send_and_wait(topic, b"{not json", key=b"x")
        wrong_version = encode_envelope(zone_event("1104")).replace(b'"version":1', b'"version":9')
        await producer.send_and_wait(topic, wrong_version, key=b"1104")
        bad_payload = encode_envelope(zone_event("1105")).replace(b'"level":4', b'"level":12')
        await producer.send_and_wait(topic, bad_payload, key=b"1105")
        await produce(producer, topic, [poison, good_after])

        consumer = _consumer(base_settings, consumer_sessions, producer, topic, unique("dlq"))
        async with running(consumer.run):

            async def both_applied():
                keys = {k for _, k in await _applied(consumer_sessions, {"1102", "1103"})}
                return keys == {"1102", "1103"}

            await eventually(both_applied, what="the good events")

            letters = []

            async def four_letters():
                batch = await dlq.getmany(timeout_ms=500)
                for records in batch.values():
                    letters.extend(
                        r
                        for r in records
                        if dict(r.headers).get("dlq-source-topic") == topic.encode()
                    )
                return len(letters) >= 4

            await eventually(four_letters, what="four dead letters")
        reasons = sorted(dict(r.headers)["dlq-reason"].decode() for r in letters)
        assert reasons == [
            "handler-rejected",
            "invalid-payload",
            "malformed-envelope",
            "unsupported-event-version",
        ]
        poisoned = next(r for r in letters if dict(r.headers)["dlq-reason"] == b"handler-rejected")
        assert b"poison" in dict(poisoned.headers)["dlq-error"]
        # The envelope's identity and the payload's shape, ids and times; the rest blanked.
        letter = orjson.loads(poisoned.value)
        assert letter["id"] == str(poison.id) and letter["type"] == "zone.level_changed"
        assert letter["key"] == "6666" and letter["payload"]["regency_code"] == "6666"
        assert letter["payload"]["changed_at"].startswith(
            poison.payload.changed_at.isoformat()[:19]
        )
        assert dict(poisoned.headers)["dlq-source-offset"].isdigit()
        assert not await _applied(consumer_sessions, {"6666", "1104", "1105"})
    finally:
        await dlq.stop()


async def test_two_instances_share_the_partitions_and_apply_each_event_once(
    base_settings, consumer_sessions, producer
):
    topic = await private_topic(base_settings.kafka_bootstrap_servers, partitions=4)
    group = unique("shared-group")
    first = _consumer(base_settings, consumer_sessions, producer, topic, group)
    second = _consumer(base_settings, consumer_sessions, producer, topic, group)
    events = [zone_event(f"{2000 + i}") for i in range(40)]
    keys = {e.key for e in events}
    async with running(first.run, second.run):

        async def both_assigned():
            return all(
                c.consumer is not None and len(c.consumer.assignment()) >= 1
                for c in (first, second)
            )

        await eventually(both_assigned, what="both instances to own partitions")
        assert not (first.consumer.assignment() & second.consumer.assignment())
        await produce(producer, topic, events)

        async def all_applied():
            return len(await _applied(consumer_sessions, keys)) >= 40

        await eventually(all_applied, what="all 40 events")
        assert first.batches_committed > 0 and second.batches_committed > 0
    rows = await _applied(consumer_sessions, keys)
    assert len(rows) == 40 and {k for _, k in rows} == keys


async def test_an_event_twice_in_one_batch_is_applied_once(
    base_settings, consumer_sessions, producer
):
    """A producer retry can deliver one event twice, side by side in the same poll."""
    topic = await private_topic(base_settings.kafka_bootstrap_servers, partitions=1)
    twice, other = zone_event("4001"), zone_event("4002")
    await produce(producer, topic, [twice, twice, other])
    consumer = _consumer(base_settings, consumer_sessions, producer, topic, unique("twice"))
    async with running(consumer.run):

        async def other_applied():
            return bool(await _applied(consumer_sessions, {"4002"}))

        await eventually(other_applied, what="the batch to be handled")
    assert len(await _applied(consumer_sessions, {"4001"})) == 1


@pytest.mark.slow
async def test_killing_a_consumer_mid_batch_loses_nothing_and_applies_nothing_twice(
    base_settings, consumer_db, consumer_sessions, producer
):
    topic = await private_topic(base_settings.kafka_bootstrap_servers, partitions=3)
    group = unique("crash")
    events = [zone_event(f"{3000 + i}") for i in range(400)]
    keys = {e.key for e in events}
    await produce(producer, topic, events)
    script = Path(__file__).with_name("consumer_process.py")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(script), consumer_db.database_name, topic, group],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ),
        )

    first = start()
    try:

        async def some_applied():
            return len(await _applied(consumer_sessions, keys)) >= 60

        await eventually(some_applied, seconds=60, what="the first process to make progress")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    applied_at_kill = len(await _applied(consumer_sessions, keys))
    assert applied_at_kill < 400, "the kill came too late to prove anything"

    second = start()
    try:

        async def all_applied():
            return len(await _applied(consumer_sessions, keys)) >= 400

        await eventually(all_applied, seconds=90, what="the restarted process to finish")
        await asyncio.sleep(2)  # anything applied twice would show up as extra rows now
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(20)
        except subprocess.TimeoutExpired:
            second.kill()
    rows = await _applied(consumer_sessions, keys)
    assert len(rows) == 400
    assert len({e for e, _ in rows}) == 400


async def test_topics_get_the_catalogues_retention_at_creation_and_after_a_change(
    base_settings,
) -> None:
    bootstrap = base_settings.kafka_bootstrap_servers
    name = await private_topic(bootstrap, partitions=1)  # created with 2 hours
    assert await topic_retention_ms(bootstrap, name) == 2 * 3600_000
    await ensure_topics(bootstrap, [Topic(name, 1, "test", "test", retention_hours=5)])
    assert await topic_retention_ms(bootstrap, name) == 5 * 3600_000


def test_personal_topics_keep_their_messages_days_not_weeks() -> None:
    assert TOPICS[DEAD_LETTER_TOPIC].retention_hours <= 7 * 24
    assert TOPICS["lindung.sign-in-codes"].retention_hours <= 1
