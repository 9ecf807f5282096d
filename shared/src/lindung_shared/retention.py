"""Retention purges: bounded batches, one committed transaction each, counted in metrics.

Each service names what it keeps and for how long (its ``retention`` package, its settings,
``docs/privacy.md``); this module only runs a purge statement until nothing is left to do.
A purge statement deletes (or blanks) at most ``:limit`` rows per run and returns them;
:func:`batched_delete` writes the usual one, e.g. ``batched_delete("sign_in_codes",
"created_at < :before", order_by="created_at")``::

    DELETE FROM sign_in_codes WHERE id IN (
        SELECT id FROM sign_in_codes WHERE created_at < :before
        ORDER BY created_at LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING 1

``SKIP LOCKED`` lets several worker replicas purge at once, and short batches never hold
locks that a request waits on for long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_shared.metrics import PURGE_LAST_RUN, PURGED_ROWS
from lindung_shared.transient import is_transient

log = logging.getLogger(__name__)


def batched_delete(table: str, where: str, *, order_by: str, key: str = "id") -> TextClause:
    """The purge statement for rows of ``table`` matching ``where`` (bound parameters as
    ``:name``), oldest by ``order_by`` first, at most ``:limit`` a run. ``table``, ``where``,
    ``order_by`` and ``key`` are the caller's SQL text, never input."""
    return text(
        f"DELETE FROM {table} WHERE {key} IN ("
        f"SELECT {key} FROM {table} WHERE {where} "
        f"ORDER BY {order_by} LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING 1"
    )


@dataclass(frozen=True)
class Purge:
    """One kind of personal data and the statement that removes what is past its time."""

    data: str
    statement: TextClause
    params: Mapping[str, Any] = field(default_factory=dict)


async def run_purge(
    sessionmaker: async_sessionmaker[AsyncSession],
    service: str,
    purge: Purge,
    *,
    batch_size: int = 1000,
    max_batches: int = 100,
) -> int:
    """Run ``purge`` in batches of ``batch_size`` until a batch comes back short (or
    ``max_batches`` ran: the next run goes on); returns the rows removed."""
    total = 0
    for _ in range(max_batches):
        async with sessionmaker() as session, session.begin():
            result = await session.execute(purge.statement, {**purge.params, "limit": batch_size})
            done = len(result.all())
        total += done
        PURGED_ROWS.labels(service, purge.data).inc(done)
        if done < batch_size:
            break
    PURGE_LAST_RUN.labels(service, purge.data).set(time.time())
    if total:
        log.info("retention purge", extra={"data": purge.data, "rows": total})
    return total


async def run_purges(
    sessionmaker: async_sessionmaker[AsyncSession],
    service: str,
    purges: list[Purge],
    *,
    batch_size: int = 1000,
    max_batches: int = 100,
) -> dict[str, int]:
    """Run every purge (one failing does not stop the others, unless the database is away:
    a transient failure is raised for the caller's job to retry); rows removed per data kind."""
    done: dict[str, int] = {}
    for purge in purges:
        try:
            done[purge.data] = await run_purge(
                sessionmaker, service, purge, batch_size=batch_size, max_batches=max_batches
            )
        except Exception as exc:
            if is_transient(exc):
                raise  # the database is away: the others would fail too (the job logs it once)
            log.exception("retention purge of %s failed", purge.data)
    return done
