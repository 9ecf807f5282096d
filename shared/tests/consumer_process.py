"""A consumer process for the crash test: applies zone events slowly into ``applied``.

Usage: python consumer_process.py DATABASE_NAME TOPIC GROUP
"""

from __future__ import annotations

import asyncio
import sys

from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.kafka import create_producer
from lindung_shared.kafka.consumer import EventConsumer
from lindung_shared.settings import ServiceSettings
from sqlalchemy import text


async def main(database: str, topic: str, group: str) -> None:
    settings = ServiceSettings(LINDUNG_ENV="test").model_copy(update={"database_name": database})
    engine = create_engine(settings)
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="crash-test")
    await producer.start()

    async def apply(session, event):
        await session.execute(
            text("INSERT INTO applied (event_id, key) VALUES (:e, :k)"),
            {"e": event.id, "k": event.key},
        )
        await asyncio.sleep(0.01)  # slow batches, so that a kill lands mid-batch

    consumer = EventConsumer(
        service="crash-test",
        group_id=group,
        topics=[topic],
        handlers={"zone.level_changed": apply},
        sessionmaker=create_sessionmaker(engine),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        dead_letters=producer,
        batch_size=50,
    )
    await consumer.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
