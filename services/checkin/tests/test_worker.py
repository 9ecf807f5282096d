"""The worker process starts, keeps partitions ahead, sweeps, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from lindung_shared.kafka.security import service_env
from lindung_shared.testing import unique
from sqlalchemy import text

from .helpers import scalar

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


async def test_worker_runs_its_jobs_and_stops_gracefully(db_settings, make_venue, sessions):
    venue = await make_venue()
    person, visit_id = uuid.uuid4(), uuid.uuid4()
    past = datetime.now(UTC) - timedelta(hours=5)
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO visits (visit_id, person_id, venue_id, checked_in_at, "
                "auto_checkout_at, source, colour, counted) "
                "VALUES (:v, :p, :ven, :at, :due, 'online', 'green', true)"
            ),
            {
                "v": visit_id,
                "p": person,
                "ven": venue.venue_id,
                "at": past,
                "due": past + timedelta(hours=4),
            },
        )
        await session.execute(
            text("INSERT INTO open_visits VALUES (:p, :v, :ven, :at, :due, 'max_stay', true)"),
            {
                "v": visit_id,
                "p": person,
                "ven": venue.venue_id,
                "at": past,
                "due": past + timedelta(hours=4),
            },
        )
        await session.execute(
            text("UPDATE venue_occupancy SET present = 1 WHERE venue_id = :v"),
            {"v": venue.venue_id},
        )
    ahead = datetime.now(UTC).date() + timedelta(days=db_settings.partitions_ahead_days + 1)
    env = {
        **os.environ,
        "DATABASE_URL": db_settings.database_url,
        "DATABASE_NAME": db_settings.database_name,
        "PARTITIONS_AHEAD_DAYS": str(db_settings.partitions_ahead_days + 1),
        "CHECKIN_WORKER_METRICS_PORT": "0",
        # Never the real consumer groups: the topics are shared with every running suite.
        "CONSUMER_GROUP_PREFIX": unique("checkin-test"),
        "LINDUNG_EXPOSURE_CONSUMER_GROUP": unique("checkin-test-exposure"),
        "LINDUNG_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lindung_checkin.worker",
        env=service_env("checkin", env),  # its own Kafka principal
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        deadline = asyncio.get_running_loop().time() + 40
        while True:
            method = await scalar(
                sessions,
                "SELECT checkout_method FROM visits WHERE visit_id = :v",
                v=visit_id,
            )
            made = await scalar(
                sessions, "SELECT to_regclass(:n) IS NOT NULL", n=f"visits_p{ahead:%Y%m%d}"
            )
            if method == "max_stay" and made:
                break
            assert asyncio.get_running_loop().time() < deadline, (method, made)
            await asyncio.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    finally:
        if process.returncode is None:
            process.kill()
    assert (
        await scalar(
            sessions, "SELECT present FROM venue_occupancy WHERE venue_id = :v", v=venue.venue_id
        )
        == 0
    )
