"""Revoked citizen tokens, known to every API process within a second.

Health-records raises a person's token generation (officer recovery, phone change, sign-out
everywhere) and publishes ``person.tokens_revoked`` (the new lowest generation honoured)
through its outbox to ``lindung.token-revocations``, a compacted topic keyed by person id.
Every API process reads that topic whole, without a consumer group, into a dictionary
(person id -> lowest generation honoured): the check on a request is one dictionary look-up
(see :meth:`RevocationList.revoked`), no database or network round trip on the hot path.

The topic is kept a day, longer than any citizen token lives: a revocation older than that
can only concern tokens that have expired anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaConsumer, TopicPartition

from lindung_shared.events import TOPICS, EventError, decode_event
from lindung_shared.events.catalogue import TokensRevoked
from lindung_shared.kafka.security import kafka_security

log = logging.getLogger(__name__)

TOPIC = "lindung.token-revocations"


class RevocationList:
    """Person id -> the lowest token generation still honoured (absent: every one)."""

    def __init__(self) -> None:
        self._floor: dict[str, int] = {}
        #: True once the topic has been read up to its end as it was at start.
        self.caught_up = False

    def revoked(self, subject: str, generation: int) -> bool:
        floor = self._floor.get(subject)
        return floor is not None and generation < floor

    def apply(self, revocation: TokensRevoked) -> None:
        subject = str(revocation.person_id)
        # Raised only: a replayed or reordered older event never re-admits a token.
        if revocation.generation > self._floor.get(subject, 0):
            self._floor[subject] = revocation.generation

    def __len__(self) -> int:
        return len(self._floor)


class RevocationFeed:
    """Keeps a :class:`RevocationList` current from the topic (a background task of the API
    process: started in the lifespan, stopped on shutdown)."""

    #: How long a fetch waits at the broker for news (the revocation latency's upper part).
    FETCH_WAIT_MS = 100

    def __init__(self, bootstrap_servers: str, *, client_id: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.revocations = RevocationList()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self, catch_up_timeout: float = 15.0) -> None:
        """Start reading; waits (up to ``catch_up_timeout``) until every revocation already
        on the topic is known, so a process does not serve a revoked token at start-up.
        When Kafka does not answer in time the process starts anyway (``/readyz`` says not
        ready until it has caught up)."""
        caught_up = asyncio.Event()
        self._task = asyncio.create_task(self._run(caught_up), name="token-revocations")
        try:
            await asyncio.wait_for(caught_up.wait(), catch_up_timeout)
        except TimeoutError:
            log.warning("token revocations not read yet; serving, not ready")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self, caught_up: asyncio.Event) -> None:
        while not self._stop.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap_servers,
                client_id=self.client_id,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=self.FETCH_WAIT_MS,
                request_timeout_ms=10_000,
                **kafka_security(),
            )
            try:
                await consumer.start()
                partitions = [TopicPartition(TOPIC, p) for p in range(TOPICS[TOPIC].partitions)]
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                ends = await consumer.end_offsets(partitions)
                await self._read(consumer, ends, caught_up)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("reading token revocations failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    async def _read(
        self,
        consumer: AIOKafkaConsumer,
        ends: dict[TopicPartition, int],
        caught_up: asyncio.Event,
    ) -> None:
        pending = {tp for tp, end in ends.items() if end > 0}
        started = time.monotonic()
        while not self._stop.is_set():
            if not pending and not caught_up.is_set():
                self.revocations.caught_up = True
                caught_up.set()
                log.info(
                    "token revocations read",
                    extra={"people": len(self.revocations), "seconds": time.monotonic() - started},
                )
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batches.items():
                for message in messages:
                    self._apply(message.value)
                    if tp in pending and message.offset + 1 >= ends[tp]:
                        pending.discard(tp)
            for tp in list(pending):
                # A compacted or deleted tail: the position may pass the end without a message.
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)

    def _apply(self, value: bytes | None) -> None:
        try:
            envelope = decode_event(value)
        except EventError as exc:
            log.warning("an unreadable token revocation skipped: %s", exc.reason)
            return
        if isinstance(envelope.payload, TokensRevoked):
            self.revocations.apply(envelope.payload)
