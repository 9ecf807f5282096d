"""The outbox relay recovers by itself from broker faults: its private Kafka is killed -9 and
restarted (three times in `make chaos`, once in `make test`) while events are written to the outbox at a steady rate, and every
event reaches the topic (at least once: consumers drop duplicates by event id).

A broker killed -9 loses what it had not flushed, which is how the issue's stuck relay
(``OutOfOrderSequenceNumber`` on every retry, for six minutes) came about; the relay now
builds a new producer after any failed send."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from lindung_shared.db import create_engine, create_sessionmaker, make_metadata
from lindung_shared.dbadmin import create_database, drop_database
from lindung_shared.events import Topic, make_event
from lindung_shared.events.catalogue import ZoneLevelChanged
from lindung_shared.kafka import create_producer, ensure_topics
from lindung_shared.kafka.security import kafka_security
from lindung_shared.metrics import OUTBOX_OLDEST_AGE
from lindung_shared.outbox import NOTIFY_TRIGGER_SQL, OutboxRelay, add_events, plumbing_tables
from lindung_shared.settings import ServiceSettings
from sqlalchemy import text

from .kafka_cluster import KafkaCluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

# `make test` restarts the broker once (bounded); `make chaos` three times.
RESTARTS = int(os.environ.get("LINDUNG_CHAOS_BROKER_RESTARTS", "1"))


@pytest.fixture
async def outbox_db() -> AsyncIterator[ServiceSettings]:
    base = ServiceSettings(LINDUNG_ENV="test")
    name = f"lindung_faults_relay_t{uuid.uuid4().hex[:8]}"
    await create_database(base.server_url, name)
    settings = base.model_copy(update={"database_name": name, "service_name": "faults-relay"})
    metadata = make_metadata()
    plumbing_tables(metadata)
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for statement in NOTIFY_TRIGGER_SQL:
            await conn.execute(text(statement))
    await engine.dispose()
    yield settings
    await drop_database(base.server_url, name)


@pytest.fixture
def kafka(tmp_path: Path) -> AsyncIterator[KafkaCluster]:
    cluster = KafkaCluster(tmp_path)
    cluster.start()
    try:
        cluster.wait_ready()
        with cluster.as_client():
            yield cluster
    finally:
        cluster.stop()


def _event(regency: str) -> object:
    from datetime import UTC, datetime

    return make_event(
        "zone.level_changed",
        ZoneLevelChanged(
            regency_code=regency, level=2, colour="yellow", changed_at=datetime.now(UTC)
        ),
    )


async def test_every_event_arrives_through_repeated_broker_kills(kafka, outbox_db):
    topic = f"test.faults.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka.bootstrap, [Topic(topic, 3, "test", "test", retention_hours=2)])
    engine = create_engine(outbox_db)
    sessions = create_sessionmaker(engine)
    written: list[str] = []
    stop_writing = asyncio.Event()

    async def writer() -> None:
        n = 0
        while not stop_writing.is_set():
            events = [_event(f"{(n + i) % 9000 + 1000}") for i in range(20)]
            n += 20
            with contextlib.suppress(Exception):
                async with sessions() as session, session.begin():
                    await add_events(session, events)
                    await session.execute(
                        text("UPDATE outbox SET topic = :t WHERE topic <> :t"), {"t": topic}
                    )
                written.extend(str(e.id) for e in events)  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)  # ~400 events/s

    relay = OutboxRelay(
        dsn=outbox_db.sqlalchemy_url.replace("+asyncpg", ""),
        service="faults-relay",
        producer_factory=lambda: create_producer(kafka.bootstrap, client_id="faults-relay"),
        send_timeout=15,
    )
    stop_relay = asyncio.Event()
    tasks = [asyncio.create_task(writer()), asyncio.create_task(relay.run(stop_relay))]
    try:
        await asyncio.sleep(3)
        broker = kafka.nodes[0]
        for _ in range(RESTARTS):
            kafka.kill9(broker)
            await asyncio.sleep(3)
            kafka.start(broker)
            await asyncio.to_thread(kafka.wait_ready, broker)
            await asyncio.sleep(4)
        stop_writing.set()
        await tasks[0]
        deadline = time.monotonic() + 120
        while True:
            async with engine.connect() as conn:
                left = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar()
            if left == 0:
                break
            assert time.monotonic() < deadline, f"{left} events still in the outbox"
            await asyncio.sleep(0.5)
    finally:
        stop_relay.set()
        stop_writing.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
        await engine.dispose()

    assert OUTBOX_OLDEST_AGE.labels("faults-relay")._value.get() == 0
    assert relay.producers_created >= 2, "a failed send must replace the producer"
    arrived = await _read_all(kafka.bootstrap, topic, expected=len(written))
    missing = set(written) - arrived
    assert len(written) > 1000
    assert not missing, f"{len(missing)} of {len(written)} events never arrived"


async def _read_all(bootstrap: str, topic: str, expected: int) -> set[str]:
    import orjson

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        **kafka_security(),
    )
    await consumer.start()
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + 60
        while len(seen) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                seen.update(orjson.loads(r.value)["id"] for r in records)
    finally:
        await consumer.stop()
    return seen
