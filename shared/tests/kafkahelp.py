"""Small helpers for the Kafka tests: private topics, producing envelopes, waiting."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from lindung_shared.events import Topic, encode_envelope, make_event
from lindung_shared.events.catalogue import ZoneLevelChanged
from lindung_shared.kafka import ensure_topics


async def private_topic(bootstrap: str, partitions: int = 3) -> str:
    name = f"test.shared.{uuid.uuid4().hex[:10]}"
    await ensure_topics(bootstrap, [Topic(name, partitions, "test", "test", retention_hours=2)])
    return name


def zone_event(regency: str = "9999", level: int = 4):
    return make_event(
        "zone.level_changed",
        ZoneLevelChanged(
            regency_code=regency, level=level, colour="red", changed_at=datetime.now(UTC)
        ),
    )


async def produce(producer: AIOKafkaProducer, topic: str, events) -> None:
    for event in events:
        await producer.send(
            topic,
            encode_envelope(event),
            key=event.key.encode(),
            headers=[
                ("event-type", event.type.encode()),
                ("event-version", str(event.version).encode()),
            ],
        )
    await producer.flush()


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float = 30, what: str = "condition"
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
