"""Automatic check-out when a visit's maximum stay or the venue's closing time passes.

Safe with several worker instances: each run claims due open visits with
``FOR UPDATE SKIP LOCKED`` (two sweepers never take the same visit, and neither waits for a
scan in progress), and takes occupancy rows in venue id order like the scan does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_checkin.checkins.repository import sweep_once


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], now: datetime, limit: int) -> int:
    """Sweep until nothing is due; each batch is its own transaction."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            swept = await sweep_once(session, now, limit)
        total += swept
        if swept < limit:
            return total
