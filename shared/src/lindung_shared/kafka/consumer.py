"""The consumer runner: at-least-once delivery turned into exactly-once effects.

For each batch polled from Kafka the runner:

1. skips (by the ``event-type`` header, without parsing) events this consumer does not handle;
2. decodes and validates the rest against the catalogue; what cannot be decoded is
   dead-lettered;
3. opens ONE database transaction, claims the batch's event ids in ``processed_events``
   (ids already claimed by this consumer group are duplicates and are skipped), runs the
   handler of each new event, and commits;
4. sends dead letters: the envelope's identity, the payload's ids and times and the error
   (``dlq-*`` headers), scrubbed of anything personal (:mod:`lindung_shared.kafka.dead_letters`);
5. only then commits the Kafka offsets.

A crash anywhere before step 5 redelivers the batch; step 3's claims make the second pass a
no-op for what was committed. A handler that raises is retried alone inside a savepoint (the
rest of the batch goes on) and dead-lettered if it raises again; a transient failure (the
database or broker unreachable) retries the whole batch with backoff instead, so an outage
never dead-letters good messages and never crash-loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_shared.events import DEAD_LETTER_TOPIC, Envelope, EventError
from lindung_shared.events.catalogue import LATEST_VERSION, decode_known, validate_raw
from lindung_shared.events.envelope import decode_raw
from lindung_shared.kafka.dead_letters import scrub_key, scrub_text, scrub_value
from lindung_shared.kafka.security import kafka_security
from lindung_shared.metrics import (
    CONSUMER_BATCH_SECONDS,
    CONSUMER_LAG,
    DEAD_LETTERS,
    EVENTS_CONSUMED,
)
from lindung_shared.transient import RetryLater as RetryLater  # re-exported for handlers
from lindung_shared.transient import is_transient

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope[Any]], Awaitable[None]]


class PermanentEventError(Exception):
    """Raised by a handler for an event that can never be handled (dead-letter it)."""

    reason = "handler-rejected"


@dataclass
class _Item:
    record: ConsumerRecord[bytes, bytes]
    event: Envelope[Any] | None = None
    error: BaseException | None = None
    reason: str = ""


_CLAIM = text(
    "INSERT INTO processed_events (consumer_group, event_id) "
    "SELECT :group, unnest(CAST(:ids AS uuid[])) ON CONFLICT DO NOTHING RETURNING event_id"
)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: EventConsumer) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Wait for the batch in flight to commit before the partitions move elsewhere.
        async with self.runner._batch_lock:
            log.info(
                "partitions revoked: %s", sorted(f"{tp.topic}:{tp.partition}" for tp in revoked)
            )

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions assigned: %s", sorted(f"{tp.topic}:{tp.partition}" for tp in assigned))


class EventConsumer:
    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        topics: Sequence[str],
        handlers: Mapping[str, Handler],
        sessionmaker: async_sessionmaker[AsyncSession],
        bootstrap_servers: str,
        dead_letters: AIOKafkaProducer,
        batch_size: int = 500,
        poll_timeout_ms: int = 200,
        client_id: str | None = None,
    ) -> None:
        self.service = service
        self.group_id = group_id
        self.topics = list(topics)
        self.handlers = dict(handlers)
        self._handled_types = {t.encode() for t in self.handlers}
        self.sessionmaker = sessionmaker
        self.bootstrap_servers = bootstrap_servers
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.poll_timeout_ms = poll_timeout_ms
        self.client_id = client_id or f"{service}-{group_id}"
        self._batch_lock = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None
        self.batches_committed = 0

    def _make_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            client_id=self.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=2_000,
            max_poll_interval_ms=300_000,
            fetch_max_wait_ms=100,
            **kafka_security(),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; always leaves the group cleanly."""
        while not stop.is_set():
            consumer = self._make_consumer()
            self.consumer = consumer
            try:
                await consumer.start()
                consumer.subscribe(self.topics, listener=_Rebalance(self))
                log.info("consumer %s started on %s", self.group_id, ",".join(self.topics))
                await self._loop(consumer, stop)
            except (KafkaError, OSError) as exc:
                log.warning(
                    "consumer %s lost kafka (%s); restarting", self.group_id, type(exc).__name__
                )
                await _sleep_or_stop(stop, 2.0)
            except Exception:
                # A bug, not a bad message (those are dead-lettered): log it loudly, back off,
                # and resume from the last committed offset rather than crash-looping.
                log.exception("consumer %s failed; restarting in 5s", self.group_id)
                await _sleep_or_stop(stop, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()
                self.consumer = None
        log.info("consumer %s stopped", self.group_id)

    async def _loop(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            batch = await consumer.getmany(
                timeout_ms=self.poll_timeout_ms, max_records=self.batch_size
            )
            if not batch:
                continue
            async with self._batch_lock:
                started = time.perf_counter()
                try:
                    await self._handle_batch(consumer, batch)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    log.warning(
                        "consumer %s: transient failure (%s: %s); retrying batch in %.1fs",
                        self.group_id,
                        type(exc).__name__,
                        exc,
                        backoff,
                    )
                    for tp, records in batch.items():
                        consumer.seek(tp, records[0].offset)
                    await _sleep_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 15.0)
                    continue
                backoff = 0.5
                CONSUMER_BATCH_SECONDS.labels(self.service, self.group_id).observe(
                    time.perf_counter() - started
                )
            self._record_lag(consumer, batch)

    async def _handle_batch(
        self,
        consumer: AIOKafkaConsumer,
        batch: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        items = [self._decode(r) for records in batch.values() for r in records]
        wanted = [i for i in items if i.event is not None]
        if wanted:
            try:
                await self._apply(wanted, isolate=False)
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.info(
                    "consumer %s: a handler failed in the batch; handling one by one", self.group_id
                )
                await self._apply(wanted, isolate=True)
        dead = [i for i in items if i.error is not None]
        for item in dead:
            await self._dead_letter(item)
        try:
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
        except CommitFailedError:
            # The group rebalanced under us; the new owner re-reads and the claims make it a
            # no-op. Nothing is lost.
            log.warning("consumer %s: offset commit refused after a rebalance", self.group_id)
        self.batches_committed += 1

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> _Item:
        item = _Item(record)
        headers = dict(record.headers or ())
        header_type = headers.get("event-type")
        if (
            header_type is not None
            and header_type not in self._handled_types
            and header_type.decode(errors="replace") in LATEST_VERSION
        ):
            # Skipped unparsed only when the catalogue knows the type: an unknown type falls
            # through to decoding and is dead-lettered, as documented.
            EVENTS_CONSUMED.labels(self.service, self.group_id, "other", "ignored").inc()
            return item
        version = headers.get("event-version")
        if header_type is not None and version is not None and record.value is not None:
            # The fast path: the type handled and the version named by the headers, the
            # whole message validated in one pass; anything off takes the path below.
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                item.event = decode_known(record.value, header_type.decode(), int(version))
            if item.event is not None:
                return item
        try:
            raw = decode_raw(record.value)
            if raw.type not in self.handlers:
                validate_raw(raw)  # an unknown type still fails here and is dead-lettered
                EVENTS_CONSUMED.labels(self.service, self.group_id, "other", "ignored").inc()
                return item
            item.event = validate_raw(raw)
        except EventError as exc:
            item.error, item.reason = exc, exc.reason
        return item

    async def handle_batch(self, session: AsyncSession, events: list[Envelope[Any]]) -> None:
        """Handle a batch's new events, in order, inside its one transaction.

        Override to share work across events (one insert for a whole batch, say). A failure
        here rolls the batch back, and the runner handles its events again one by one.
        """
        for event in events:
            await self.handlers[event.type](session, event)

    async def _apply(self, items: list[_Item], *, isolate: bool) -> None:
        outcomes: list[tuple[str, str]] = []
        async with self.sessionmaker() as session, session.begin():
            ids = [i.event.id for i in items if i.event is not None]
            fresh = set(
                (await session.execute(_CLAIM, {"group": self.group_id, "ids": ids})).scalars()
            )
            new: list[Envelope[Any]] = []
            for item in items:
                event = item.event
                assert event is not None
                if event.id not in fresh:
                    outcomes.append((event.type, "duplicate"))
                    continue
                # A producer retry can put one event twice in the same batch: once.
                fresh.discard(event.id)
                if not isolate:
                    new.append(event)
                    outcomes.append((event.type, "handled"))
                    continue
                try:
                    async with session.begin_nested():
                        await self.handlers[event.type](session, event)
                    outcomes.append((event.type, "handled"))
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    item.error = exc
                    item.reason = getattr(exc, "reason", "handler-error")
                    outcomes.append((event.type, "dead-lettered"))
            if new:
                await self.handle_batch(session, new)
        for event_type, outcome in outcomes:
            EVENTS_CONSUMED.labels(self.service, self.group_id, event_type, outcome).inc()

    async def _dead_letter(self, item: _Item) -> None:
        record = item.record
        error = item.error
        assert error is not None
        message = f"{type(error).__name__}: {error}"
        if not isinstance(error, EventError | PermanentEventError):
            message += "\n" + "".join(traceback.format_exception(error, limit=3))[-1500:]
        # Never the original value: it may hold sign-in codes, phones, NIKs and names. The
        # original stays on its own topic at the offset named here.
        headers = [
            *[(k, v) for k, v in record.headers or () if k in ("event-type", "event-version")],
            ("dlq-format", b"lindung-dead-letter-v1"),
            ("dlq-reason", item.reason.encode()),
            ("dlq-error", scrub_text(message)[:2000].encode()),
            ("dlq-source-topic", record.topic.encode()),
            ("dlq-source-partition", str(record.partition).encode()),
            ("dlq-source-offset", str(record.offset).encode()),
            ("dlq-consumer-group", self.group_id.encode()),
            ("dlq-service", self.service.encode()),
        ]
        await self.dead_letters.send_and_wait(
            DEAD_LETTER_TOPIC,
            value=scrub_value(record.value),
            key=scrub_key(record.key),
            headers=headers,
        )
        DEAD_LETTERS.labels(self.service, self.group_id, item.reason).inc()
        log.warning(
            "dead-lettered %s:%s@%s (%s)",
            record.topic,
            record.partition,
            record.offset,
            item.reason,
        )

    def _record_lag(
        self,
        consumer: AIOKafkaConsumer,
        batch: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        for tp, records in batch.items():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                CONSUMER_LAG.labels(self.service, self.group_id, tp.topic, str(tp.partition)).set(
                    max(0, highwater - records[-1].offset - 1)
                )


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
