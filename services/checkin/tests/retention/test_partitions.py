"""Retention drops whole daily partitions; partitions are created ahead."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from lindung_checkin.database import asyncpg_dsn
from lindung_checkin.retention.partitions import drop_expired, ensure_ahead

from ..helpers import scalar


async def _partitions(conn: asyncpg.Connection) -> set[str]:
    return {
        r["relname"]
        for r in await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'visits'"
        )
    }


async def test_old_partitions_are_dropped_whole_and_recent_ones_kept(db_settings, sessions):
    today = datetime.now(UTC).date()
    conn = await asyncpg.connect(asyncpg_dsn(db_settings))
    try:
        await ensure_ahead(conn, today, ahead_days=5)
        names = await _partitions(conn)
        assert f"visits_p{today + timedelta(days=5):%Y%m%d}" in names
        old_day = today - timedelta(days=30)
        await conn.execute("SELECT checkin_ensure_partitions($1)", old_day)
        old, recent = uuid.uuid4(), uuid.uuid4()
        for visit_id, day in ((old, old_day), (recent, today - timedelta(days=20))):
            at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
            await conn.execute(
                "INSERT INTO visits (visit_id, person_id, venue_id, checked_in_at, "
                "auto_checkout_at, source, colour, counted) "
                "VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz + interval '4 hours', 'online', 'green', true)",
                visit_id,
                uuid.uuid4(),
                uuid.uuid4(),
                at,
            )
        dropped = await drop_expired(conn, today, retention_days=21)
        assert f"visits_p{old_day:%Y%m%d}" in dropped
        assert f"refused_attempts_p{old_day:%Y%m%d}" in dropped
        assert f"visits_p{today - timedelta(days=21):%Y%m%d}" in await _partitions(conn)
        assert f"visits_p{today - timedelta(days=22):%Y%m%d}" not in await _partitions(conn)
    finally:
        await conn.close()
    assert await scalar(sessions, "SELECT count(*) FROM visits WHERE visit_id = :v", v=old) == 0
    assert await scalar(sessions, "SELECT count(*) FROM visits WHERE visit_id = :v", v=recent) == 1
    assert (
        await scalar(sessions, "SELECT to_regclass(:n) IS NULL", n=f"visits_p{old_day:%Y%m%d}")
        is True
    )
