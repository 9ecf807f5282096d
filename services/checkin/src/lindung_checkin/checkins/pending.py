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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_checkin.checkins import repository
from lindung_checkin.trust import repository as trust_repository
from lindung_checkin.trust.cache import trusted_keys

log = logging.getLogger(__name__)


async def replay_pending(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int, max_age: timedelta
) -> int:
    """Record held visits whose venue is known by now, one batch per transaction; drop the
    ones older than ``max_age``. Returns how many were recorded."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            done = await repository.replay_held(session, limit)
        total += done
        if done < limit:
            break
    async with sessionmaker() as session, session.begin():
        expired = await repository.expire_held(session, max_age)
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


async def verify_held(
    sessionmaker: async_sessionmaker[AsyncSession], *, limit: int, max_age: timedelta
) -> tuple[int, int]:
    """Verify held items whose key is known by now: the genuine ones move on to
    ``pending_offline_visits`` (:func:`replay_pending` records them), the rest are dropped;
    so is what is older than ``max_age``. Returns (verified, dropped)."""
    verified = forged = 0
    while True:
        async with sessionmaker() as session, session.begin():
            keys = trusted_keys(await trust_repository.trusted_key_rows_in(session))
            rows = await repository.take_unverified(session, limit)
            for row in rows:
                try:
                    claims = verify_qr(row.qr, keys, now=row.scanned_at.timestamp())
                except QrInvalid:
                    forged += 1
                else:
                    await repository.hold_verified(session, row, claims)
                    verified += 1
                await repository.forget_unverified(session, row.person_id, row.client_id)
        if len(rows) < limit:
            break
    async with sessionmaker() as session, session.begin():
        expired = await repository.expire_unverified(session, max_age)
        UNVERIFIED_HELD.set(await repository.count_unverified(session))
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
