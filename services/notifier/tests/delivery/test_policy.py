from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lindung_notifier.delivery.policy import BreakerState, CircuitBreaker, backoff_seconds


@given(
    attempt=st.integers(min_value=1, max_value=100),
    base=st.floats(min_value=0.01, max_value=60),
    cap=st.floats(min_value=0.01, max_value=3600),
    r=st.floats(min_value=0, max_value=1),
)
def test_backoff_is_jittered_exponential_and_capped(
    attempt: int, base: float, cap: float, r: float
) -> None:
    delay = backoff_seconds(attempt, base=base, cap=cap, rand=lambda: r)
    step = min(cap, base * 2 ** (attempt - 1))
    assert step / 2 - 1e-9 <= delay <= step + 1e-9
    assert delay <= cap + 1e-9


@given(attempt=st.integers(min_value=1, max_value=20))
def test_backoff_grows_until_the_cap(attempt: int) -> None:
    low = backoff_seconds(attempt, base=1, cap=1e9, rand=lambda: 1.0)
    high = backoff_seconds(attempt + 1, base=1, cap=1e9, rand=lambda: 0.0)
    assert high >= low  # the next retry never comes earlier than the previous one's latest


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_then_probes_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=clock)
    assert breaker.allowance(50) == 50
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # not consecutive: stays closed
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.allowance(50) == 0
    clock.now = 10.5
    assert breaker.allowance(50) == 1  # half-open: one probe
    assert breaker.allowance(50) == 0  # and only one
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now = 21
    assert breaker.allowance(50) == 1
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allowance(50) == 50


@given(st.lists(st.booleans(), max_size=60))
def test_breaker_is_open_exactly_when_the_last_k_calls_failed(outcomes: list[bool]) -> None:
    breaker = CircuitBreaker(threshold=4, cooldown=1e9, clock=lambda: 0.0)
    streak = 0
    for ok in outcomes:
        if breaker.state is BreakerState.OPEN:
            break
        if ok:
            breaker.record_success()
            streak = 0
        else:
            breaker.record_failure()
            streak += 1
        assert (breaker.state is BreakerState.OPEN) == (streak >= 4)
