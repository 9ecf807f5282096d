"""Rate limits that hold across every API process of a service, kept in its PostgreSQL.

A fixed-window counter per (limit, key, window): one ``INSERT ... ON CONFLICT DO UPDATE ...
RETURNING`` counts the hit and reads the total in a single atomic statement, so parallel
requests on any number of processes cannot all see "under the limit" (the race a count
followed by an insert had). Hits are counted in their own short transaction, committed
whether or not the request then succeeds: a refused guess still counts.

Keys are stored hashed, never as given (they are phone numbers, addresses, subjects), and a
window's row is deleted soon after it ends.
A window allows at most ``hits`` per ``seconds``; at a window's edge a client can spend two
windows' worth in a short time, which these limits tolerate (they stop floods and guessing,
not fair sharing). Over the limit, :class:`TooManyRequests` renders as 429 problem+json with
``Retry-After`` (the seconds to the window's end).

A service that uses it adds the table in a migration (``create_table(op)``) and declares it in
its metadata (``rate_limit_table(metadata)``); ``create_app`` puts a :class:`RateLimiter` on
``app.state.rate_limiter`` (``RateLimiterDep`` in routes).
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from lindung_shared.errors import Problem
from lindung_shared.metrics import RATE_LIMITED

TABLE = "rate_limit_counters"

_HIT = text(
    f"""
    INSERT INTO {TABLE} (bucket, window_start, hits, expires_at)
    VALUES (:bucket, to_timestamp(:start), 1, to_timestamp(:end))
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = {TABLE}.hits + 1
    RETURNING hits
    """
)
SWEEP = text(f"DELETE FROM {TABLE} WHERE expires_at < now()")


@dataclass(frozen=True)
class Limit:
    """At most ``hits`` per ``seconds`` for one key; ``name`` labels it (metrics, buckets)."""

    name: str
    hits: int
    seconds: int


class TooManyRequests(Problem):
    status, code, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


def rate_limit_table(metadata: MetaData) -> Table:
    return Table(
        TABLE,
        metadata,
        Column("bucket", Text, primary_key=True),
        Column("window_start", DateTime(timezone=True), primary_key=True),
        Column("hits", Integer, nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    )


def create_table(op: Any) -> None:
    """For a migration: ``ratelimit.create_table(op)`` (and ``op.drop_table(TABLE)`` down)."""
    import sqlalchemy as sa

    op.create_table(
        TABLE,
        sa.Column("bucket", sa.Text, primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(f"ix_{TABLE}_expires_at", TABLE, ["expires_at"])


class RateLimiter:
    """Counts hits in the service's database (see the module's documentation)."""

    #: One hit in this many also deletes the expired windows (cheap: an indexed range).
    SWEEP_EVERY = 200

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @staticmethod
    def bucket(limit: Limit, key: str) -> str:
        digest = hashlib.blake2b(key.encode(), digest_size=16, person=b"lindung-ratelim")
        return f"{limit.name}:{digest.hexdigest()}"

    async def hit(self, limit: Limit, key: str, *, now: float | None = None) -> None:
        """Count one hit of ``key`` against ``limit``; :class:`TooManyRequests` beyond it.
        A limit of 0 hits is no limit (nothing is counted)."""
        if limit.hits <= 0:
            return
        moment = time.time() if now is None else now
        start, end = window(limit, moment)
        params = {"bucket": self.bucket(limit, key), "start": start, "end": end}
        async with self.engine.begin() as conn:
            try:
                hits = (await conn.execute(_HIT, params)).scalar_one()
            except ProgrammingError as exc:  # the service has not migrated the table
                raise RuntimeError(f"{TABLE} is missing: add it in a migration") from exc
            if random.randrange(self.SWEEP_EVERY) == 0:
                await conn.execute(SWEEP)
        if hits > limit.hits:
            raise refusal(limit, moment)


def window(limit: Limit, moment: float) -> tuple[float, float]:
    """The start and end (epoch seconds) of ``limit``'s window holding ``moment``. A caller
    that counts hits in its own statement (check-in's scan groups) uses these and
    :meth:`RateLimiter.bucket` so that its counters are the limiter's."""
    start = moment - moment % limit.seconds
    return start, start + limit.seconds


def refusal(limit: Limit, moment: float) -> TooManyRequests:
    """The 429 for a hit beyond ``limit`` at ``moment`` (counted in the metrics)."""
    RATE_LIMITED.labels(limit.name).inc()
    retry_after = max(1, int(window(limit, moment)[1] - moment + 0.999))
    return TooManyRequests(
        f"at most {limit.hits} requests per {_span(limit.seconds)} for this "
        f"{limit.name.split('-per-')[-1]}; retry after {retry_after} s",
        retry_after=retry_after,
        extra={"limit": limit.name},
    )


def _span(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def client_address(request: Request) -> str:
    """The caller's address as the server saw it (uvicorn applies X-Forwarded-For only from
    the proxies it trusts)."""
    return request.client.host if request.client else "unknown"


def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
