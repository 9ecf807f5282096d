"""SQL of the door. A group of scans and the explicit check-out are each ONE statement calling
a database function (``sql/checkin_scan_batch.sql``, ``sql/checkin_checkout.sql``), run on the
raw asyncpg pool."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeAlias

import asyncpg

from lindung_checkin.database import is_missing_partition

Executor: TypeAlias = Any  # an asyncpg Pool or Connection (both fetchrow/execute)

_SCAN = "SELECT * FROM checkin_scan($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
_SCAN_GROUP = (
    "SELECT * FROM checkin_scan_batch("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)
_CHECKOUT = "SELECT * FROM checkin_checkout($1, $2, $3)"
_ENSURE_PARTITIONS = "SELECT checkin_ensure_partitions(d) FROM unnest($1::date[]) AS d"


@dataclass(frozen=True, slots=True)
class Scan:
    person_id: uuid.UUID
    venue_id: uuid.UUID
    qr_id: uuid.UUID | None
    entrance: str | None
    at: datetime
    client_id: str | None
    source: str
    live: bool
    rule_version: str | None
    visit_id: uuid.UUID
    #: An offline visit's check-out, uploaded with it (late visits only).
    checked_out_at: datetime | None = None
    #: The rate-limit counter this scan counts against (:meth:`RateLimiter.bucket`) and the
    #: start of its window; None: not limited here.
    rate_bucket: str | None = None
    rate_window: datetime | None = None


@dataclass(frozen=True, slots=True)
class GroupLimit:
    """The limit a group's rate-limited scans count against: ``hits`` per ``seconds``."""

    hits: int
    seconds: int


async def scan_group(
    db: Executor,
    scans: list[Scan],
    rule_version: str | None,
    limit: GroupLimit | None = None,
) -> list[asyncpg.Record]:
    """Several scans in one statement (one transaction); answers in the same order. Scans
    with a ``rate_bucket`` count against ``limit`` in that transaction; those beyond it
    answer ``rate_limited`` and record nothing."""
    args = (
        [s.person_id for s in scans],
        [s.venue_id for s in scans],
        [s.qr_id for s in scans],
        [s.entrance for s in scans],
        [s.at for s in scans],
        [s.client_id for s in scans],
        [s.source for s in scans],
        [s.live for s in scans],
        rule_version,
        [s.visit_id for s in scans],
        [s.checked_out_at for s in scans],
        [s.rate_bucket if limit else None for s in scans],
        [s.rate_window if limit else None for s in scans],
        limit.seconds if limit else 60,
        limit.hits if limit else 0,
    )
    try:
        rows = await db.fetch(_SCAN_GROUP, *args)
    except asyncpg.CheckViolationError as exc:
        # No partition for a scan's day (the worker has not created it yet): create them and
        # try once more. The failed statement was rolled back as a whole (counters too).
        if not is_missing_partition(exc) or isinstance(db, asyncpg.Connection):
            raise
        await ensure_partitions(db, [s.at.astimezone(UTC).date() for s in scans])
        rows = await db.fetch(_SCAN_GROUP, *args)
    assert len(rows) == len(scans)
    return sorted(rows, key=lambda r: r["o_index"])


async def scan(
    db: Executor,
    *,
    person_id: uuid.UUID,
    venue_id: uuid.UUID,
    qr_id: uuid.UUID | None,
    entrance: str | None,
    at: datetime,
    client_id: str | None,
    source: str,
    live: bool,
    rule_version: str | None,
    visit_id: uuid.UUID,
    checked_out_at: datetime | None = None,
) -> asyncpg.Record:
    args = (
        person_id,
        venue_id,
        qr_id,
        entrance,
        at,
        client_id,
        source,
        live,
        rule_version,
        visit_id,
        checked_out_at,
    )
    try:
        row = await db.fetchrow(_SCAN, *args)
    except asyncpg.CheckViolationError as exc:
        # No partition for the scan's day (the worker has not created it yet): create it and
        # try once more. The failed statement was rolled back as a whole.
        if not is_missing_partition(exc) or isinstance(db, asyncpg.Connection):
            raise
        await ensure_partitions(db, [at.date()])
        row = await db.fetchrow(_SCAN, *args)
    assert row is not None
    return row


async def check_out(
    db: Executor, *, person_id: uuid.UUID, visit_id: uuid.UUID, at: datetime
) -> asyncpg.Record:
    row = await db.fetchrow(_CHECKOUT, person_id, visit_id, at)
    assert row is not None
    return row


async def ensure_partitions(db: Executor, days: Iterable[date]) -> None:
    await db.execute(_ENSURE_PARTITIONS, sorted(set(days)))
