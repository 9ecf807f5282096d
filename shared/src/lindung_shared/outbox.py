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
import random
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
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
from lindung_shared.metrics import (
    OUTBOX_OLDEST_AGE,
    OUTBOX_PARKED,
    OUTBOX_PENDING,
    OUTBOX_PUBLISHED,
    OUTBOX_SEND_FAILURES,
)

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
    the advisory lock publishes, the others stand by (ordering is kept per service).

    It recovers by itself from any broker fault. A failed send (broker gone, a timeout, a
    fatal producer error such as ``OutOfOrderSequenceNumber`` after a broker lost its tail)
    throws the producer away and builds a new one (a new producer id, fresh metadata), with
    exponential backoff. A batch that keeps failing is sent row by row: a row that fails
    alone while others go through (too large, a topic that cannot be written) is set aside,
    retried with backoff, and never blocks the rows behind it. ``lindung_outbox_oldest_age_
    seconds`` says how long the oldest row has waited: alert on it.

    Pass ``producer_factory`` to let the relay own (and replace) its producer; a relay given
    only ``producer`` uses that one and cannot replace it (tests, experiments)."""

    #: A batch that failed this many times in a row is sent row by row.
    ISOLATE_AFTER = 3
    #: Longest wait between attempts while the broker fails, and for a set-aside row.
    MAX_BACKOFF = 15.0
    MAX_PARKED_BACKOFF = 300.0

    def __init__(
        self,
        *,
        dsn: str,
        service: str,
        producer: AIOKafkaProducer | None = None,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
        batch_size: int = 2000,
        idle_poll_seconds: float = 1.0,
        send_timeout: float = 45.0,
    ) -> None:
        if producer is None and producer_factory is None:
            raise ValueError("an outbox relay needs a producer or a producer factory")
        self.dsn = dsn
        self._given_producer = producer
        self._producer_factory = producer_factory
        self.producer: AIOKafkaProducer | None = producer
        self._producer_started = producer is not None
        self.service = service
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.send_timeout = send_timeout
        self._wake = asyncio.Event()
        self._partitions: dict[str, list[int]] = {}
        self.is_leader = False
        self.producers_created = 0
        self._failures = 0  # consecutive failed batches
        self._parked: dict[int, tuple[int, float]] = {}  # id -> (failures, retry at)

    async def run(self, stop: asyncio.Event) -> None:
        try:
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
        finally:
            if self._producer_factory is not None:
                await self._drop_producer()

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
                try:
                    published = await self.publish_batch(conn)
                except _SendFailed as failed:
                    await self._after_failure(conn, failed, stop)
                    continue
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

    # -- the producer ---------------------------------------------------------------------

    async def _ready_producer(self) -> AIOKafkaProducer:
        if self.producer is None:
            assert self._producer_factory is not None
            self.producer = self._producer_factory()
            self._producer_started = False
            self.producers_created += 1
        if not self._producer_started:
            try:
                async with asyncio.timeout(self.send_timeout):
                    await self.producer.start()
            except BaseException:
                await self._drop_producer()
                raise
            self._producer_started = True
        return self.producer

    async def _drop_producer(self) -> None:
        """Throw the producer away (after a failed send): the next batch builds a new one."""
        producer, self.producer = self.producer, None
        self._producer_started = False
        self._partitions.clear()
        if producer is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await producer.stop()

    async def _after_failure(
        self, conn: asyncpg.Connection, failed: _SendFailed, stop: asyncio.Event
    ) -> None:
        self._failures += 1
        error = type(failed.cause).__name__
        OUTBOX_SEND_FAILURES.labels(self.service, error).inc()
        await self._record_age(conn)
        if self._producer_factory is not None:
            await self._drop_producer()
        delay = min(self.MAX_BACKOFF, 0.5 * 2 ** min(self._failures - 1, 6))
        log.warning(
            "outbox relay could not publish (%s: %s); new producer, retry in %.1fs",
            error,
            failed.cause,
            delay,
        )
        await _sleep_or_stop(stop, delay * random.uniform(0.8, 1.2))

    # -- publishing -----------------------------------------------------------------------

    async def _send(self, rows: Sequence[asyncpg.Record]) -> None:
        """Publish rows as whole per-partition batches and wait for the broker's acks.

        One batch per partition instead of one ``send()`` per message roughly doubles what
        the relay keeps up with in the exposure matcher's bursts (docs/benchmarks.md).

        The partition is CRC-32 of the key modulo the partition count: every event of a key
        lands on the same partition (per-key order), and CRC-32 runs in C, where aiokafka's
        murmur2 is pure Python and cost a quarter of the relay's time. Every Lindung event
        reaches Kafka through a relay, so all producers agree.
        """
        producer = await self._ready_producer()
        by_partition: dict[tuple[str, int], list[_Message]] = {}
        for row in rows:
            topic = row["topic"]
            partitions = self._partitions.get(topic)
            if partitions is None:
                partitions = sorted(await producer.partitions_for(topic))
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
            batch = producer.create_batch()
            for key, value, headers in messages:
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                        raise ValueError(f"an event for {topic} is larger than a whole batch")
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)

    async def _send_or_fail(self, rows: Sequence[asyncpg.Record]) -> None:
        try:
            async with asyncio.timeout(self.send_timeout):
                await self._send(rows)
        except Exception as exc:  # any broker or producer fault: replace it and retry
            raise _SendFailed(exc) from exc

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        now = time.monotonic()
        skip = [i for i, (_, retry_at) in self._parked.items() if retry_at > now]
        rows = await conn.fetch(
            "SELECT id, event_id, type, version, occurred_at, producer, key, payload::text, "
            "topic, created_at FROM outbox WHERE id <> ALL($2::bigint[]) ORDER BY id LIMIT $1",
            self.batch_size,
            skip,
        )
        if not rows:
            if not self._parked:
                OUTBOX_PENDING.labels(self.service).set(0)
                OUTBOX_OLDEST_AGE.labels(self.service).set(0)
            else:
                await self._record_age(conn)
            return 0
        OUTBOX_OLDEST_AGE.labels(self.service).set(
            max(0.0, (datetime.now(UTC) - rows[0]["created_at"]).total_seconds())
        )
        if self._failures >= self.ISOLATE_AFTER:
            sent = await self._publish_one_by_one(conn, rows)
        else:
            await self._send_or_fail(rows)
            sent = [r["id"] for r in rows]
        if sent:
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", sent)
            OUTBOX_PUBLISHED.labels(self.service).inc(len(sent))
            for row_id in sent:
                self._parked.pop(row_id, None)
            OUTBOX_PARKED.labels(self.service).set(len(self._parked))
        self._failures = 0
        if len(rows) == self.batch_size or self._parked:
            self._wake.set()
        return len(sent)

    async def _publish_one_by_one(
        self, conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]
    ) -> list[int]:
        """After repeated failures: each row alone. Rows that fail while others go through are
        set aside with backoff; if every row fails, the broker is the problem (raise)."""
        sent: list[int] = []
        failed: list[tuple[asyncpg.Record, _SendFailed]] = []
        for row in rows:
            try:
                await self._send_or_fail([row])
                sent.append(row["id"])
            except _SendFailed as row_failed:
                failed.append((row, row_failed))
                if not sent and len(failed) >= 3:
                    break  # nothing goes through: the broker, not the rows
        if not sent:
            raise failed[0][1]
        now = time.monotonic()
        for row, why in failed:
            count = self._parked.get(row["id"], (0, 0.0))[0] + 1
            delay = min(self.MAX_PARKED_BACKOFF, 5.0 * 2 ** min(count - 1, 8))
            self._parked[row["id"]] = (count, now + delay)
            log.warning(
                "outbox row %s (%s) fails alone (%s); set aside, retried in %.0fs",
                row["id"],
                row["type"],
                type(why.cause).__name__,
                delay,
            )
        return sent

    async def _record_age(self, conn: asyncpg.Connection) -> None:
        with contextlib.suppress(Exception):
            oldest = await conn.fetchval("SELECT created_at FROM outbox ORDER BY id LIMIT 1")
            age = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
            OUTBOX_OLDEST_AGE.labels(self.service).set(max(0.0, age))


class _SendFailed(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
