"""Retry policy and the circuit breaker: pure rules, tested with hypothesis."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from enum import StrEnum


def backoff_seconds(
    attempt: int, *, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before retry number ``attempt`` (1 = after the first failure): exponential,
    capped, with "equal jitter" (between half and all of the step) so that retries of many
    deliveries that failed together spread out instead of hitting the gateway in lockstep."""
    step = float(min(cap, base * 2.0 ** min(max(attempt - 1, 0), 32)))
    return float(step / 2 + (step / 2) * rand())


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Per gateway: opens after ``threshold`` consecutive failures; after ``cooldown`` one
    probe is let through (half-open); its success closes the breaker, its failure reopens it."""

    def __init__(
        self,
        threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.probe_in_flight = False

    def allowance(self, wanted: int) -> int:
        """How many calls may start now (at most ``wanted``)."""
        if self.state is BreakerState.OPEN:
            if self.clock() - self.opened_at < self.cooldown:
                return 0
            self.state = BreakerState.HALF_OPEN
            self.probe_in_flight = False
        if self.state is BreakerState.HALF_OPEN:
            if self.probe_in_flight:
                return 0
            self.probe_in_flight = True
            return min(1, wanted)
        return wanted

    def release_probe(self) -> None:
        """The probe slot was granted but not used (nothing was due)."""
        self.probe_in_flight = False

    def record_success(self) -> None:
        self.failures = 0
        self.state = BreakerState.CLOSED
        self.probe_in_flight = False

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.threshold:
            self.state = BreakerState.OPEN
            self.opened_at = self.clock()
        self.probe_in_flight = False

    @property
    def is_closed(self) -> bool:
        return self.state is BreakerState.CLOSED
