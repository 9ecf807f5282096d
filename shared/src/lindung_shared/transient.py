"""Which failures are an outage (retry later) rather than a bug or bad input.

The consumer runner retries a whole batch on a transient failure instead of dead-lettering
it; the APIs answer 503 with ``Retry-After`` instead of 500. Both ask :func:`is_transient`.
Periodic worker jobs log an outage with :class:`OutageLog` (a few warnings, no tracebacks).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class RetryLater(Exception):
    """Raised by a handler when the event cannot be handled *yet* (retry the batch)."""


# Deadlocks, serialization failures, lock and statement timeouts resolve by themselves on a
# retry; connection exceptions (class 08), a server shutting down or starting up (57P01-57P03)
# and too many connections (53300) are outages.
_RETRYABLE_SQLSTATES = frozenset(
    {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300"}
)


def _sqlstate(exc: BaseException | None) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return state if isinstance(state, str) else None


def _retryable_state(state: str | None) -> bool:
    return state is not None and (state in _RETRYABLE_SQLSTATES or state.startswith("08"))


def is_transient(exc: BaseException) -> bool:
    if isinstance(
        exc,
        RetryLater
        | OperationalError
        | InterfaceError
        | PoolTimeoutError
        | OSError
        | TimeoutError
        | KafkaConnectionError
        | KafkaTimeoutError
        | NodeNotReadyError
        | asyncpg.InterfaceError
        | asyncpg.CannotConnectNowError
        | asyncpg.ConnectionDoesNotExistError
        # A connection whose server went away mid-conversation (PostgreSQL restarted with
        # sessions open) can be left in a protocol state no statement may start from: "cannot
        # switch to state 12; another operation (2) is in progress". The pool drops it on
        # release (its reset fails); the request is retried on a fresh one.
        | asyncpg.InternalClientError,
    ):
        return True
    if isinstance(exc, asyncpg.PostgresError) and _retryable_state(_sqlstate(exc)):
        return True
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or _retryable_state(_sqlstate(exc.orig))
    ):
        return True
    cause = exc.__cause__
    return cause is not None and cause is not exc and is_transient(cause)


def describe(exc: BaseException) -> str:
    """A short, parameter-free description of a failure for a log line: the exception's type
    and its innermost cause's message (a SQLAlchemy error's own text carries the statement and
    its parameters, which may be personal data)."""
    inner: BaseException = exc
    seen = {id(inner)}
    while True:
        nxt = getattr(inner, "orig", None) or inner.__cause__
        if not isinstance(nxt, BaseException) or id(nxt) in seen:
            break
        seen.add(id(nxt))
        inner = nxt
    name = type(exc).__name__
    detail = f"{type(inner).__name__}: {inner}" if inner is not exc else str(exc)
    return f"{name} ({detail[:300]})" if detail else name


class OutageLog:
    """The log of something that keeps retrying through an outage (a periodic job, a loop).

    A transient failure (:func:`is_transient`) is one structured WARNING when the outage starts,
    then at most one every ``every`` seconds while it lasts (with the count of failures since),
    and one INFO line when a run succeeds again: no traceback, a handful of lines however long
    the outage. Anything else is a bug and is logged with its full traceback every time.
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.what = what
        self.every = every
        self.clock = clock
        self.failures = 0  # consecutive transient failures
        self._since = 0.0
        self._last_logged = 0.0
        self._unlogged = 0

    def failed(self, exc: BaseException) -> None:
        if not is_transient(exc):
            self.logger.error("%s failed", self.what, exc_info=exc)
            return
        now = self.clock()
        self.failures += 1
        if self.failures == 1:
            self._since = now
        elif now - self._last_logged < self.every:
            self._unlogged += 1
            return
        self.logger.warning(
            "%s: transient failure, retrying",
            self.what,
            extra={
                "outage": self.what,
                "error": describe(exc),
                "failures": self.failures,
                "failing_for_seconds": round(now - self._since, 1),
                "failures_not_logged": self._unlogged,
            },
        )
        self._last_logged = now
        self._unlogged = 0

    def succeeded(self) -> None:
        if self.failures:
            self.logger.info(
                "%s: recovered",
                self.what,
                extra={
                    "outage": self.what,
                    "failures": self.failures,
                    "failing_for_seconds": round(self.clock() - self._since, 1),
                },
            )
        self.failures = 0
        self._unlogged = 0
