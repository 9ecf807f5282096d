"""Which failures are an outage (retry later) rather than a bug or bad input.

The consumer runner retries a whole batch on a transient failure instead of dead-lettering
it; the APIs answer 503 with ``Retry-After`` instead of 500. Both ask :func:`is_transient`.
"""

from __future__ import annotations

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
