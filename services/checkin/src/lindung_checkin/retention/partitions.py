"""Daily partitions: created ahead, and dropped whole once older than the retention.

Old partitions are first detached CONCURRENTLY (which never blocks check-ins) and then
dropped; nothing is ever deleted row by row from ``visits`` or ``refused_attempts``.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import asyncpg

log = logging.getLogger(__name__)

_EXPIRED = """
    SELECT p.relname AS parent, c.relname AS child
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname IN ('visits', 'refused_attempts')
      AND c.relname ~ '_p[0-9]{8}$'
      AND to_date(right(c.relname, 8), 'YYYYMMDD') < $1
    ORDER BY c.relname
"""
_ORPHANS = """
    SELECT c.relname FROM pg_class c
    WHERE c.relkind = 'r' AND c.relname ~ '^(visits|refused_attempts)_p[0-9]{8}$'
      AND NOT c.relispartition
      AND to_date(right(c.relname, 8), 'YYYYMMDD') < $1
"""


def _quoted(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected partition name {name!r}")
    return f'"{name}"'


async def ensure_ahead(conn: asyncpg.Connection, today: date, ahead_days: int) -> None:
    days = [today + timedelta(days=d) for d in range(-1, ahead_days + 1)]
    await conn.execute("SELECT checkin_ensure_partitions(d) FROM unnest($1::date[]) AS d", days)


async def drop_expired(conn: asyncpg.Connection, today: date, retention_days: int) -> list[str]:
    """Drop every daily partition wholly older than the retention; returns their names.

    Needs a connection outside a transaction (DETACH ... CONCURRENTLY)."""
    keep_from = today - timedelta(days=retention_days)
    dropped: list[str] = []
    await conn.execute("SET lock_timeout = '5s'")
    for parent, child in await conn.fetch(_EXPIRED, keep_from):
        await conn.execute(
            f"ALTER TABLE {_quoted(parent)} DETACH PARTITION {_quoted(child)} CONCURRENTLY"
        )
        await conn.execute(f"DROP TABLE {_quoted(child)}")
        dropped.append(child)
    # A detach interrupted half-way leaves a detached table behind: finish the job.
    for (child,) in await conn.fetch(_ORPHANS, keep_from):
        await conn.execute(f"DROP TABLE IF EXISTS {_quoted(child)}")
        dropped.append(child)
    return dropped


async def forget_old_client_ids(conn: asyncpg.Connection, retention_days: int) -> None:
    # Small idempotency ledger; its rows expire with the visits they guard.
    await conn.execute(
        "DELETE FROM client_ids WHERE recorded_at < now() - make_interval(days => $1)",
        retention_days,
    )


async def maintain(dsn: str, retention_days: int, ahead_days: int) -> list[str]:
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    try:
        today = datetime.now(UTC).date()
        await ensure_ahead(conn, today, ahead_days)
        dropped = await drop_expired(conn, today, retention_days)
        await forget_old_client_ids(conn, retention_days)
    finally:
        await conn.close()
    if dropped:
        log.info("dropped expired partitions", extra={"partitions": dropped})
    return dropped
