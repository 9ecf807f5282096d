"""Offline visits held until this service can record them (migrations 0006 and 0007).

- For a venue not known here yet: the venues consumer records a venue's held visits in the
  transaction that stores the venue; :func:`replay_pending` catches the ones uploaded while
  that transaction ran.
- Signed with a QR key not known here yet: :func:`verify_held` checks each once its key has
  arrived and moves the genuine ones on to the venue hold above (recorded at once when the
  venue is known), or drops it when the signature does not hold.

Held for a venue, a visit is given up after the tracing look-back (a venue the registry never
announced). Held for a key, it is given up after ``unverified_hold_hours`` (6): a real key's
event arrives in seconds, and anyone can make a key id up (the API also bounds these holds per
person and in total). Drops are logged by count, never by person, and counted in
``lindung_checkin_unverified_hold_results_total``; ``lindung_checkin_unverified_held`` is how
many are held now.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from lindung_shared.qr import QrInvalid, verify_qr
from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_checkin.trust.cache import TRUSTED_KEYS, trusted_keys

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


UNVERIFIED_HELD = Gauge(
    "lindung_checkin_unverified_held",
    "Offline items held now for a QR key id not known here",
    multiprocess_mode="livemax",
)
UNVERIFIED_RESULTS = Counter(
    "lindung_checkin_unverified_hold_results_total",
    "Held offline items that left the hold: verified, bad-signature or expired",
    ["result"],
)
_COUNT_UNVERIFIED = text("SELECT count(*) FROM unverified_offline_scans")

_TRUSTED_KEYS = text(TRUSTED_KEYS)
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


async def verify_held(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int, max_age: timedelta
) -> tuple[int, int]:
    """Verify held items whose key is known by now: the genuine ones move on to
    ``pending_offline_visits`` (:func:`replay_pending` records them), the rest are dropped;
    so is what is older than ``max_age``. Returns (verified, dropped)."""
    verified = forged = 0
    while True:
        async with sessionmaker() as session, session.begin():
            keys = trusted_keys((await session.execute(_TRUSTED_KEYS)).all())
            rows = (await session.execute(_TAKE_UNVERIFIED, {"limit": limit})).all()
            for row in rows:
                try:
                    claims = verify_qr(row.qr, keys, now=row.scanned_at.timestamp())
                except QrInvalid:
                    forged += 1
                else:
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
                    verified += 1
                await session.execute(
                    _FORGET, {"person_id": row.person_id, "client_id": row.client_id}
                )
        if len(rows) < limit:
            break
    async with sessionmaker() as session, session.begin():
        expired = int((await session.execute(_EXPIRE_UNVERIFIED, {"age": max_age})).scalar_one())
        UNVERIFIED_HELD.set(int((await session.execute(_COUNT_UNVERIFIED)).scalar_one()))
    UNVERIFIED_RESULTS.labels("verified").inc(verified)
    UNVERIFIED_RESULTS.labels("bad-signature").inc(forged)
    UNVERIFIED_RESULTS.labels("expired").inc(expired)
    dropped = forged + expired
    if dropped:
        log.warning(
            "held offline visits dropped (bad signature or expired)", extra={"count": dropped}
        )
    if verified:
        log.info("held offline visits verified", extra={"count": verified})
    return verified, dropped
