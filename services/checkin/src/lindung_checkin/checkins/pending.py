"""Offline visits held until this service can record them (migrations 0006 and 0007).

- For a venue not known here yet: the venues consumer records a venue's held visits in the
  transaction that stores the venue; :func:`replay_pending` catches the ones uploaded while
  that transaction ran.
- Signed with a QR key not known here yet: :func:`verify_held` checks each once its key has
  arrived and records it like any late offline visit (through ``checkin_scan``, so a venue
  still unknown holds it again as above), or drops it when the signature does not hold.

Both give up on what is still held after the tracing look-back (a code of a venue or key the
registry never announced); drops are logged by count, never by person.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

import orjson
from lindung_shared.qr import QrInvalid, public_key_from_jwk, verify_qr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

_REPLAY = text("SELECT checkin_replay_pending(NULL, :limit)")
_EXPIRE = text(
    "WITH gone AS (DELETE FROM pending_offline_visits "
    "WHERE received_at < now() - CAST(:age AS interval) RETURNING 1) SELECT count(*) FROM gone"
)


async def replay_pending(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int, max_age: timedelta
) -> int:
    """Record held visits whose venue is known by now, one batch per transaction; drop the
    ones older than ``max_age``. Returns how many were recorded."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            done = int((await session.execute(_REPLAY, {"limit": limit})).scalar_one())
        total += done
        if done < limit:
            break
    async with sessionmaker() as session, session.begin():
        expired = int((await session.execute(_EXPIRE, {"age": max_age})).scalar_one())
    if expired:
        log.warning("held offline visits expired unrecorded", extra={"count": expired})
    if total:
        log.info("held offline visits recorded", extra={"count": total})
    return total


_TRUSTED_KEYS = text("SELECT key_id, jwk::text FROM qr_keys WHERE status IN ('active', 'retiring')")
_TAKE_UNVERIFIED = text(
    """
    SELECT u.person_id, u.client_id, u.visit_id, u.qr, u.scanned_at, u.rule_version
    FROM unverified_offline_scans u
    WHERE u.key_id IN (SELECT key_id FROM qr_keys)
    ORDER BY u.person_id, u.scanned_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)
_ENSURE_PARTITION = text(
    "SELECT checkin_ensure_partitions(CAST(:day AS date)) "
    "WHERE to_regclass('visits_p' || to_char(CAST(:day AS date), 'YYYYMMDD')) IS NULL"
)
_RECORD = text(
    "SELECT o_outcome FROM checkin_scan(:person_id, :venue_id, :qr_id, :entrance, :at, "
    ":client_id, 'offline', false, :rule_version, :visit_id)"
)
_FORGET = text(
    "DELETE FROM unverified_offline_scans WHERE person_id = :person_id AND client_id = :client_id"
)
_EXPIRE_UNVERIFIED = text(
    "WITH gone AS (DELETE FROM unverified_offline_scans "
    "WHERE received_at < now() - CAST(:age AS interval) RETURNING 1) SELECT count(*) FROM gone"
)


async def verify_held(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int, max_age: timedelta
) -> tuple[int, int]:
    """Verify held items whose key is known by now: record the genuine ones, drop the rest;
    drop what is older than ``max_age``. Returns (recorded, dropped)."""
    recorded = dropped = 0
    while True:
        async with sessionmaker() as session, session.begin():
            keys = {}
            for key_id, jwk in (await session.execute(_TRUSTED_KEYS)).all():
                try:
                    keys[key_id] = public_key_from_jwk(orjson.loads(jwk))
                except ValueError:
                    continue
            rows = (await session.execute(_TAKE_UNVERIFIED, {"limit": limit})).all()
            for row in rows:
                try:
                    claims = verify_qr(row.qr, keys, now=row.scanned_at.timestamp())
                except QrInvalid:
                    dropped += 1
                else:
                    day = row.scanned_at.astimezone(UTC).date()
                    await session.execute(_ENSURE_PARTITION, {"day": day})
                    await session.execute(
                        _RECORD,
                        {
                            "person_id": row.person_id,
                            "venue_id": claims.venue_id,
                            "qr_id": claims.qr_id,
                            "entrance": claims.entrance,
                            "at": row.scanned_at,
                            "client_id": row.client_id,
                            "rule_version": row.rule_version,
                            "visit_id": row.visit_id,
                        },
                    )
                    recorded += 1
                await session.execute(
                    _FORGET, {"person_id": row.person_id, "client_id": row.client_id}
                )
        if len(rows) < limit:
            break
    async with sessionmaker() as session, session.begin():
        expired = await session.execute(_EXPIRE_UNVERIFIED, {"age": max_age})
        dropped += int(expired.scalar_one())
    if dropped:
        log.warning(
            "held offline visits dropped (bad signature or expired)", extra={"count": dropped}
        )
    if recorded:
        log.info("held offline visits verified and recorded", extra={"count": recorded})
    return recorded, dropped
