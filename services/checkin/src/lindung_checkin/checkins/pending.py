"""Offline visits held for a venue not known here yet (see migration 0006).

The venues consumer records a venue's held visits in the transaction that stores the venue.
This job catches the ones uploaded while that transaction ran, and gives up on visits whose
venue never arrived within the tracing look-back (a code signed for a venue the registry
never announced; each is logged by count, never by person).
"""

from __future__ import annotations

import logging
from datetime import timedelta

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
