"""The transactional outbox, and the ledger of events a consumer group has handled.

A service writes the events that announce a state change into its own ``outbox`` table, in
the same transaction as the change. The relay (one active per service, elected with a
PostgreSQL advisory lock) publishes them to Kafka in id order, waits for the broker's
acknowledgement (acks=all) and only then deletes them. A crash between publish and delete
republishes: consumers are idempotent by event id, so nothing is applied twice and nothing
is lost.

Rows can be inserted from Python (:func:`add_events`) or straight from SQL (the exposure
matcher inserts thousands in one ``INSERT ... SELECT``): the relay builds the envelope from
the columns, so both produce the same wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from lindung_shared.events import Envelope, spec_for
from lindung_shared.metrics import OUTBOX_PENDING, OUTBOX_PUBLISHED

log = logging.getLogger(__name__)

_Message = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers
NOTIFY_CHANNEL = "lindung_outbox"
RELAY_LOCK_KEY = 0x4C494E44  # "LIND": one relay per database holds it


def plumbing_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Attach the ``outbox`` and ``processed_events`` tables to a service's metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("type", Text, nullable=False),
        Column("version", Integer, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("producer", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer_group", Text, primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_processed_events_processed_at", "processed_at"),
    )
    return outbox, processed


#: DDL for a migration to run after creating the tables: wake the relay on every insert.
NOTIFY_TRIGGER_SQL = (
    """
    CREATE OR REPLACE FUNCTION lindung_outbox_notify() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_notify('lindung_outbox', '');
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION lindung_outbox_notify()
    """,
)
DROP_NOTIFY_TRIGGER_SQL = (
    "DROP TRIGGER IF EXISTS outbox_notify ON outbox",
    "DROP FUNCTION IF EXISTS lindung_outbox_notify()",
)


def create_plumbing(op: Any, metadata: MetaData | None = None) -> None:
    """Create the outbox and processed-events tables inside an Alembic migration."""
    tables = plumbing_tables(metadata or MetaData())
    bind = op.get_bind()
    for table in tables:
        table.create(bind)
    for statement in NOTIFY_TRIGGER_SQL:
        op.execute(statement)


def drop_plumbing(op: Any) -> None:
    for statement in DROP_NOTIFY_TRIGGER_SQL:
        op.execute(statement)
    op.drop_table("processed_events")
    op.drop_table("outbox")


_INSERT = text(
    "INSERT INTO outbox (event_id, topic, key, type, version, occurred_at, producer, payload) "
    "VALUES (:event_id, :topic, :key, :type, :version, :occurred_at, :producer, "
    "CAST(:payload AS jsonb))"
)


async def add_events(
    session: AsyncSession | AsyncConnection, events: Iterable[Envelope[Any]]
) -> int:
    """Stage events in the caller's transaction; they are published after it commits."""
    rows = [
        {
            "event_id": e.id,
            "topic": spec_for(e.type, e.version).topic,
            "key": e.key,
            "type": e.type,
            "version": e.version,
            "occurred_at": e.occurred_at,
            "producer": e.producer,
            "payload": orjson.dumps(e.payload.model_dump(mode="json")).decode(),
        }
        for e in events
    ]
    if rows:
        await session.execute(_INSERT, rows)
    return len(rows)


#: The outbox columns an ``INSERT INTO outbox (...) SELECT`` names, in :func:`staged_events`'s
#: order.
OUTBOX_COLUMNS = "event_id, topic, key, type, version, occurred_at, producer, payload"


def staged_events(
    event_type: str, *, key: str, payload: Mapping[str, str], version: int | None = None
) -> str:
    """The SELECT list of ``INSERT INTO outbox (OUTBOX_COLUMNS) SELECT ... FROM ...`` staging
    one catalogue event per row from SQL (the matcher stages thousands in one statement).

    Topic, type, version and producer come from the catalogue's :class:`EventSpec`; ``payload``
    maps each field of the event's payload model to a SQL expression, and must name every
    required field and no other (checked here, when the statement is built: at import). The
    topic is ``:topic_prefix`` followed by the catalogue's topic: bind ``topic_prefix`` (""
    outside tests). The payload is ``jsonb_build_object`` of the expressions, in the model's
    field order; tests decode the staged rows with :func:`decode_event` against the contract.
    """
    spec = spec_for(event_type, version)
    fields = spec.payload.model_fields
    missing = sorted(n for n, f in fields.items() if f.is_required() and n not in payload)
    unknown = sorted(set(payload) - set(fields))
    if missing or unknown:
        raise ValueError(
            f"{spec.type} v{spec.version}: payload expressions missing {missing}, "
            f"not in the contract {unknown}"
        )
    if key != payload.get(spec.key_field, key):
        raise ValueError(f"{spec.type}: the key must be the payload's {spec.key_field}")
    pairs = ",\n        ".join(f"'{name}', {payload[name]}" for name in fields if name in payload)
    return (
        f"gen_random_uuid(), CAST(:topic_prefix AS text) || {_literal(spec.topic)}, "
        f"({key})::text, {_literal(spec.type)}, {spec.version}, now(), "
        f"{_literal(spec.producer)},\n    jsonb_build_object(\n        {pairs})"
    )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def envelope_bytes(row: Sequence[Any]) -> bytes:
    """Wire bytes from an outbox row (event_id, type, version, occurred_at, producer, key,
    payload-as-text)."""
    event_id, event_type, version, occurred_at, producer, key, payload = row
    return orjson.dumps(
        {
            "id": str(event_id),
            "type": event_type,
            "version": version,
            "occurred_at": occurred_at,
            "producer": producer,
            "key": key,
            "payload": orjson.Fragment(payload),
        },
        option=orjson.OPT_UTC_Z,
    )


class OutboxRelay:
    """Publishes a service's outbox to Kafka. Run one per worker process; only the holder of
    the advisory lock publishes, the others stand by (ordering is kept per service)."""

    def __init__(
        self,
        *,
        dsn: str,
        producer: AIOKafkaProducer,
        service: str,
        batch_size: int = 2000,
        idle_poll_seconds: float = 1.0,
    ) -> None:
        self.dsn = dsn
        self.producer = producer
        self.service = service
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self._wake = asyncio.Event()
        self._partitions: dict[str, list[int]] = {}
        self.is_leader = False

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._run_once(stop)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.is_leader = False
                log.warning("outbox relay lost its database connection: %s; retrying", exc)
                await _sleep_or_stop(stop, 2.0)
            except Exception:
                self.is_leader = False
                log.exception("outbox relay failed; retrying")
                await _sleep_or_stop(stop, 2.0)

    async def _run_once(self, stop: asyncio.Event) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn)
        try:
            while not stop.is_set():
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
                    break
                await _sleep_or_stop(stop, 2.0)
            else:
                return
            self.is_leader = True
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            log.info("outbox relay is the active publisher")
            while not stop.is_set():
                published = await self.publish_batch(conn)
                if published == 0:
                    self._wake.clear()
                    waiter = asyncio.ensure_future(self._wake.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    await asyncio.wait(
                        {waiter, stopper},
                        timeout=self.idle_poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    waiter.cancel()
                    stopper.cancel()
        finally:
            self.is_leader = False
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)

    async def _send(self, rows: Sequence[asyncpg.Record]) -> None:
        """Publish rows as whole per-partition batches and wait for the broker's acks.

        One batch per partition instead of one ``send()`` per message roughly doubles what
        the relay keeps up with in the exposure matcher's bursts (docs/benchmarks.md).

        The partition is CRC-32 of the key modulo the partition count: every event of a key
        lands on the same partition (per-key order), and CRC-32 runs in C, where aiokafka's
        murmur2 is pure Python and cost a quarter of the relay's time. Every Lindung event
        reaches Kafka through a relay, so all producers agree.
        """
        by_partition: dict[tuple[str, int], list[_Message]] = {}
        for row in rows:
            topic = row["topic"]
            partitions = self._partitions.get(topic)
            if partitions is None:
                partitions = sorted(await self.producer.partitions_for(topic))
                self._partitions[topic] = partitions
            key = row["key"].encode()
            partition = partitions[zlib.crc32(key) % len(partitions)]
            headers = [
                ("event-type", row["type"].encode()),
                ("event-version", str(row["version"]).encode()),
            ]
            value = envelope_bytes(tuple(row)[1:8])
            by_partition.setdefault((topic, partition), []).append((key, value, headers))
        futures = []
        for (topic, partition), messages in by_partition.items():
            batch = self.producer.create_batch()
            for key, value, headers in messages:
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    futures.append(
                        await self.producer.send_batch(batch, topic, partition=partition)
                    )
                    batch = self.producer.create_batch()
                    if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                        raise ValueError(f"an event for {topic} is larger than a whole batch")
            futures.append(await self.producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            "SELECT id, event_id, type, version, occurred_at, producer, key, payload::text, "
            "topic FROM outbox ORDER BY id LIMIT $1",
            self.batch_size,
        )
        if not rows:
            OUTBOX_PENDING.labels(self.service).set(0)
            return 0
        await self._send(rows)
        await conn.execute(
            "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
        )
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        if len(rows) == self.batch_size:
            self._wake.set()
        return len(rows)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
