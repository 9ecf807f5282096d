"""The worker process publishes the outbox: a registered venue reaches Kafka."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from aiokafka import AIOKafkaConsumer, TopicPartition
from lindung_shared.events import decode_event
from lindung_shared.events.catalogue import TOPICS
from lindung_shared.kafka import ensure_topics
from lindung_shared.kafka.security import kafka_security, service_env
from lindung_shared.testing import unique


async def test_venue_registered_reaches_kafka_through_the_worker(settings, manager, create_venue):
    topic = "lindung.venues"
    await ensure_topics(settings.kafka_bootstrap_servers, [TOPICS[topic]])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=unique("venue-registry-test"),
        enable_auto_commit=False,
        **kafka_security(),
    )
    await consumer.start()
    worker = None
    try:
        # topics are created from the catalogue, with its partition count
        partitions = [TopicPartition(topic, p) for p in range(TOPICS[topic].partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the end offsets now, before anything is published
            await consumer.position(tp)

        venue = await create_venue(manager, name="Stasiun Gambir", category="transport_hub")

        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "DATABASE_NAME": settings.database_name,
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "VENUE_REGISTRY_WORKER_METRICS_PORT": "0",
        }
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "lindung_venues.worker",
            env=service_env("venue-registry", env),  # its own Kafka principal
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        found = None
        deadline = time.monotonic() + 45
        while found is None and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    if message.key != venue["id"].encode():
                        continue
                    event = decode_event(message.value)
                    if event.type == "venue.registered":
                        found = (message, event)
        assert found is not None, "venue.registered did not arrive within 45 s"
        message, event = found
        assert dict(message.headers)["event-type"] == b"venue.registered"
        assert str(event.payload.venue_id) == venue["id"]
        assert event.payload.manager_id == venue["manager_id"]
        assert event.payload.effective_capacity == venue["effective_capacity"]
        assert event.producer == "venue-registry"
    finally:
        await consumer.stop()
        if worker is not None and worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(worker.wait(), timeout=20)
            except TimeoutError:
                worker.kill()
                await worker.wait()
    assert worker.returncode == 0, (await worker.stderr.read()).decode()[-2000:]
