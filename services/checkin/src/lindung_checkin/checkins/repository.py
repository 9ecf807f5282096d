"""SQL of the door. A group of scans and the explicit check-out are each ONE statement calling
a database function (``sql/checkin_scan_batch.sql``, ``sql/checkin_checkout.sql``), run on the
raw asyncpg pool."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeAlias

import asyncpg
from lindung_shared.qr import QrClaims
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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


# --- offline items held for a QR key id not known here (migration 0007) ------------------

_LOCK_PERSON_HOLDS = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
_HELD_OF_PERSON = """
    SELECT client_id, visit_id FROM unverified_offline_scans
    WHERE person_id = $1 AND client_id = ANY($2::text[])
"""
_COUNT_PERSON_HOLDS = "SELECT count(*) FROM unverified_offline_scans WHERE person_id = $1"
# Counting stops at the bound: the cost stays that of the bound, whatever the table holds.
_COUNT_ALL_HOLDS = "SELECT count(*) FROM (SELECT 1 FROM unverified_offline_scans LIMIT $1) s"
_HOLD_UNVERIFIED = """
    INSERT INTO unverified_offline_scans
        (person_id, client_id, visit_id, key_id, qr, scanned_at, rule_version, checked_out_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8
    WHERE NOT EXISTS (SELECT 1 FROM qr_keys k
                      WHERE k.key_id = $4 AND k.status NOT IN ('active', 'retiring'))
    ON CONFLICT (person_id, client_id) DO NOTHING
    RETURNING visit_id
"""


async def lock_person_holds(conn: asyncpg.Connection, person_id: uuid.UUID) -> None:
    """One person's uploads in turn (until the transaction ends)."""
    await conn.execute(_LOCK_PERSON_HOLDS, f"unverified-holds:{person_id}")


async def held_of_person(
    conn: asyncpg.Connection, person_id: uuid.UUID, client_ids: list[str]
) -> dict[str, uuid.UUID]:
    """The visit ids of those of ``client_ids`` already held for the person."""
    rows = await conn.fetch(_HELD_OF_PERSON, person_id, client_ids)
    return {r["client_id"]: r["visit_id"] for r in rows}


async def count_person_holds(conn: asyncpg.Connection, person_id: uuid.UUID) -> int:
    return int(await conn.fetchval(_COUNT_PERSON_HOLDS, person_id))


async def count_all_holds(conn: asyncpg.Connection, bound: int) -> int:
    """How many are held in all, counted up to ``bound`` at most."""
    return int(await conn.fetchval(_COUNT_ALL_HOLDS, bound))


async def hold_unverified(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    client_id: str,
    visit_id: uuid.UUID,
    key_id: str,
    qr: str,
    scanned_at: datetime,
    rule_version: str | None,
    checked_out_at: datetime | None,
) -> uuid.UUID | None:
    """Hold one item: its visit id; None when its key is known as retired (or a parallel
    retry of the same item holds it already)."""
    held: uuid.UUID | None = await conn.fetchval(
        _HOLD_UNVERIFIED,
        person_id,
        client_id,
        visit_id,
        key_id,
        qr,
        scanned_at,
        rule_version,
        checked_out_at,
    )
    return held


# --- the worker's jobs: automatic check-out, held offline visits --------------------------

_SWEEP = text(
    """
    WITH due AS (
        SELECT person_id FROM open_visits
        WHERE auto_checkout_at <= CAST(:now AS timestamptz)
        ORDER BY auto_checkout_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM open_visits ov USING due WHERE ov.person_id = due.person_id
        RETURNING ov.visit_id, ov.venue_id, ov.checked_in_at, ov.auto_checkout_at,
                  ov.auto_checkout_method, ov.counted
    ), closed AS (
        UPDATE visits vi SET (checked_out_at, checkout_method) = (
            SELECT e.o_checked_out_at, e.o_checkout_method
            FROM checkin_visit_end(g.checked_in_at, g.auto_checkout_at, g.auto_checkout_method,
                                   CAST(:now AS timestamptz), 'max_stay') e)
        FROM gone g
        WHERE vi.visit_id = g.visit_id AND vi.checked_in_at = g.checked_in_at
          AND vi.checked_out_at IS NULL
    )
    SELECT venue_id, count(*) FILTER (WHERE counted) AS leaving, count(*) AS swept
    FROM gone GROUP BY venue_id ORDER BY venue_id
    """
)
_LOCK_VENUES = text(
    "SELECT venue_id FROM venue_occupancy WHERE venue_id = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY venue_id FOR UPDATE"
)
_RELEASE = text(
    "UPDATE venue_occupancy vo SET present = greatest(vo.present - d.n, 0) "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:ns AS integer[])) AS d(venue_id, n) "
    "WHERE vo.venue_id = d.venue_id"
)


async def sweep_once(session: AsyncSession, now: datetime, limit: int) -> int:
    """Check out one batch of due visits; returns how many. The caller commits."""
    rows = (await session.execute(_SWEEP, {"now": now, "limit": limit})).all()
    releases = [(r.venue_id, int(r.leaving)) for r in rows if r.leaving]
    if releases:
        ids = [v for v, _ in releases]
        await session.execute(_LOCK_VENUES, {"ids": ids})
        await session.execute(_RELEASE, {"ids": ids, "ns": [n for _, n in releases]})
    return sum(int(r.swept) for r in rows)


_REPLAY = text("SELECT checkin_replay_pending(NULL, :limit)")
_EXPIRE = text(
    "WITH gone AS (DELETE FROM pending_offline_visits "
    "WHERE received_at < now() - CAST(:age AS interval) RETURNING 1) SELECT count(*) FROM gone"
)


async def replay_held(session: AsyncSession, limit: int) -> int:
    """Record up to ``limit`` visits held for a venue now known; how many."""
    return int((await session.execute(_REPLAY, {"limit": limit})).scalar_one())


async def expire_held(session: AsyncSession, max_age: timedelta) -> int:
    return int((await session.execute(_EXPIRE, {"age": max_age})).scalar_one())


_COUNT_UNVERIFIED = text("SELECT count(*) FROM unverified_offline_scans")

_TAKE_UNVERIFIED = text(
    """
    SELECT u.person_id, u.client_id, u.visit_id, u.qr, u.scanned_at, u.rule_version,
           u.checked_out_at
    FROM unverified_offline_scans u
    WHERE u.key_id IN (SELECT key_id FROM qr_keys)
    ORDER BY u.person_id, u.scanned_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)
# A verified item becomes an ordinary held visit: checkin_replay_pending records it (now, or
# once its venue is known), creating its day's partition if need be.
_HOLD_VERIFIED = text(
    """
    INSERT INTO pending_offline_visits (person_id, client_id, visit_id, venue_id, qr_id,
                                        entrance, scanned_at, rule_version, checked_out_at)
    VALUES (:person_id, :client_id, :visit_id, :venue_id, :qr_id, :entrance, :scanned_at,
            :rule_version, :checked_out_at)
    ON CONFLICT (person_id, client_id) DO NOTHING
    """
)
_FORGET = text(
    "DELETE FROM unverified_offline_scans WHERE person_id = :person_id AND client_id = :client_id"
)
_EXPIRE_UNVERIFIED = text(
    "WITH gone AS (DELETE FROM unverified_offline_scans "
    "WHERE received_at < now() - CAST(:age AS interval) RETURNING 1) SELECT count(*) FROM gone"
)


async def take_unverified(session: AsyncSession, limit: int) -> Sequence[Any]:
    """Held items whose key is known by now, locked (others skip them)."""
    return (await session.execute(_TAKE_UNVERIFIED, {"limit": limit})).all()


async def hold_verified(session: AsyncSession, row: Any, claims: QrClaims) -> None:
    """A verified item becomes an ordinary held visit (recorded by :func:`replay_held`)."""
    await session.execute(
        _HOLD_VERIFIED,
        {
            "person_id": row.person_id,
            "client_id": row.client_id,
            "visit_id": row.visit_id,
            "venue_id": claims.venue_id,
            "qr_id": claims.qr_id,
            "entrance": claims.entrance,
            "scanned_at": row.scanned_at,
            "rule_version": row.rule_version,
            "checked_out_at": row.checked_out_at,
        },
    )


async def forget_unverified(session: AsyncSession, person_id: uuid.UUID, client_id: str) -> None:
    await session.execute(_FORGET, {"person_id": person_id, "client_id": client_id})


async def expire_unverified(session: AsyncSession, max_age: timedelta) -> int:
    return int((await session.execute(_EXPIRE_UNVERIFIED, {"age": max_age})).scalar_one())


async def count_unverified(session: AsyncSession) -> int:
    return int((await session.execute(_COUNT_UNVERIFIED)).scalar_one())
