"""The delivery worker: claims due deliveries, calls the gateways, records the outcome.

At most once and at least once (while the gateway is reachable):

* a delivery is marked ``sending`` (attempts + 1) in a transaction committed BEFORE the call;
* the call carries the delivery id as the gateway's idempotency reference;
* a row left in ``sending`` (the worker died, the answer was lost) is claimed again after
  ``delivery_sending_timeout_seconds`` and sent with the same reference, which the gateway
  recognises, so the recipient gets one message;
* ``FOR UPDATE SKIP LOCKED`` lets any number of workers share the table.

Throughput (``services/notifier/bench/fanout_bench.py``): a claimed batch is sent by
``delivery_concurrency`` lanes (not one task per delivery), and while :meth:`drain` goes round
after round, a round's outcomes are written while the next round is claimed and sent, so the
gateway calls do not stop for the bookkeeping statements.

Failures retry with exponential backoff and jitter up to ``delivery_max_attempts``, then the
delivery is ``dead``. A breaker per gateway stops calls after consecutive failures and lets a
single probe through after a cool-down.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from lindung_shared.sealing import Sealer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_notifier.delivery import repository
from lindung_notifier.delivery.channels import Channel, Message, Outcome, Result
from lindung_notifier.delivery.policy import BreakerState, CircuitBreaker, backoff_seconds
from lindung_notifier.metrics import (
    BREAKER_OPEN,
    DELIVERIES_DEAD,
    DELIVERY_ATTEMPTS,
    DEVICES_DEACTIVATED,
)
from lindung_notifier.settings import Settings

log = logging.getLogger(__name__)

_NOT_SENT = Result(Outcome.RETRY, error="not sent: the gateway's breaker is open")


class DeliveryWorker:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        channels: Sequence[Channel],
    ) -> None:
        self.settings = settings
        self.sealer = Sealer(settings.contact_seal_key.get_secret_value())
        self.sessionmaker = sessionmaker
        self.channels = {c.name: c for c in channels}
        self.breakers = {
            c.name: CircuitBreaker(
                settings.breaker_failure_threshold, settings.breaker_cooldown_seconds
            )
            for c in channels
        }
        self._limit = asyncio.Semaphore(settings.delivery_concurrency)
        #: Per channel, the previous round's outcomes being written (see :meth:`drain`).
        self._recording: dict[str, asyncio.Task[None]] = {}

    async def drain(self, max_rounds: int = 1000) -> int:
        """Send everything due now (round after round); returns how many calls were made.
        Each round's outcomes are written while the next round is claimed and sent; all are
        written when it returns."""
        total = 0
        try:
            for i in range(max_rounds):
                sent = await self.run_once(give_up_stuck=i == 0, settle=False)
                total += sent
                if sent == 0:
                    break
        finally:
            await self._settle()
        return total

    async def run_once(self, *, give_up_stuck: bool = True, settle: bool = True) -> int:
        if give_up_stuck:
            async with self.sessionmaker() as session, session.begin():
                for channel in await repository.give_up_stuck(
                    session,
                    self.settings.delivery_max_attempts,
                    self.settings.delivery_sending_timeout_seconds,
                ):
                    DELIVERIES_DEAD.labels(channel, "no-answer").inc()
        try:
            counts = await asyncio.gather(*(self._round(name) for name in self.channels))
        finally:
            if settle:
                await self._settle()
        return sum(counts)

    async def _settle(self, name: str | None = None) -> None:
        """Wait for the outcomes being written (one channel's, or all); a failed write leaves
        its rows in ``sending``, to be sent again with the same reference after the timeout."""
        for channel in [name] if name else list(self._recording):
            task = self._recording.pop(channel, None)
            if task is not None:
                await task

    async def _send_all(
        self, name: str, claimed: Sequence[repository.Claimed]
    ) -> list[Result | None]:
        """Send a claimed batch through ``delivery_concurrency`` lanes, in claim order."""
        results: list[Result | None] = [None] * len(claimed)
        work = iter(enumerate(claimed))

        async def lane() -> None:
            for i, item in work:
                results[i] = await self._send(name, item)

        lanes = min(self.settings.delivery_concurrency, len(claimed))
        await asyncio.gather(*(lane() for _ in range(lanes)))
        return results

    async def _round(self, name: str) -> int:
        breaker = self.breakers[name]
        allowed = breaker.allowance(self.settings.delivery_batch_size)
        BREAKER_OPEN.labels(name).set(0 if breaker.is_closed else 1)
        if allowed == 0:
            return 0
        async with self.sessionmaker() as session, session.begin():
            claimed = await repository.claim(
                session, name, allowed, self.settings.delivery_sending_timeout_seconds
            )
        if not claimed:
            breaker.release_probe()
            return 0
        results = await self._send_all(name, claimed)
        outcomes: list[repository.Outcome] = []
        invalid_devices = []
        attempts: Counter[str] = Counter()  # counted per round: a labelled look-up per call costs
        for item, result in zip(claimed, results, strict=True):
            if result is None:  # expired or device gone: not a call
                outcomes.append(self._dead(item, "expired or device inactive", "expired"))
                continue
            if result is _NOT_SENT:
                outcomes.append(
                    repository.Outcome(
                        item.id,
                        item.attempts,
                        "pending",
                        retry_in_seconds=self.settings.breaker_cooldown_seconds,
                        attempted=False,
                    )
                )
                continue
            attempts[result.outcome.value] += 1
            outcomes.append(self._outcome(item, result))
            if result.outcome is Outcome.INVALID_TARGET and item.device_id is not None:
                invalid_devices.append(item.device_id)
        for outcome, n in attempts.items():
            DELIVERY_ATTEMPTS.labels(name, outcome).inc(n)
        # One round's outcomes in flight at a time per channel: the previous one first.
        await self._settle(name)
        self._recording[name] = asyncio.create_task(self._record(outcomes, invalid_devices))
        BREAKER_OPEN.labels(name).set(0 if breaker.is_closed else 1)
        return sum(1 for r in results if r is not None and r is not _NOT_SENT)

    async def _record(
        self, outcomes: Sequence[repository.Outcome], invalid_devices: Sequence[uuid.UUID]
    ) -> None:
        async with self.sessionmaker() as session, session.begin():
            await repository.record(session, outcomes)
            if invalid_devices:
                deactivated = await repository.deactivate_devices(
                    session, invalid_devices, "reported invalid by the push gateway"
                )
                DEVICES_DEACTIVATED.inc(deactivated)
            await repository.scrub_settled_secrets(
                session, [o.id for o in outcomes if o.status in ("delivered", "dead")]
            )

    async def _send(self, name: str, item: repository.Claimed) -> Result | None:
        if item.expires_at is not None and item.expires_at <= datetime.now(UTC):
            return None
        if item.device_id is not None and not item.device_active:
            return None
        message = Message(
            delivery_id=item.id,
            recipient=item.recipient,
            title=item.title,
            body=item.body,
            data=item.data,
            phone=self.sealer.unseal(item.phone, "phone") if item.phone else None,
            device_token=item.device_token,
        )
        async with self._limit:
            if self.breakers[name].state is BreakerState.OPEN:
                return _NOT_SENT  # the breaker opened while this one waited its turn
            result = await self.channels[name].send(message)
        if result.outcome is Outcome.RETRY:
            self.breakers[name].record_failure()
        else:
            self.breakers[name].record_success()
        return result

    def _dead(self, item: repository.Claimed, error: str, reason: str) -> repository.Outcome:
        DELIVERIES_DEAD.labels(item.channel, reason).inc()
        return repository.Outcome(item.id, item.attempts, "dead", error=error)

    def _outcome(self, item: repository.Claimed, result: Result) -> repository.Outcome:
        if result.outcome is Outcome.DELIVERED:
            return repository.Outcome(
                item.id, item.attempts, "delivered", message_id=result.message_id
            )
        if result.outcome is Outcome.RETRY and item.attempts < self.settings.delivery_max_attempts:
            delay = backoff_seconds(
                item.attempts,
                base=self.settings.delivery_backoff_base_seconds,
                cap=self.settings.delivery_backoff_max_seconds,
            )
            return repository.Outcome(
                item.id, item.attempts, "failed", error=result.error, retry_in_seconds=delay
            )
        reason = "max-attempts" if result.outcome is Outcome.RETRY else result.outcome.value
        return self._dead(item, result.error or reason, reason)
