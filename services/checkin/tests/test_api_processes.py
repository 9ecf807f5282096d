"""The check-in API as several processes (``CHECKIN_API_WORKERS``): every process answers,
and ``/metrics`` counts the requests of all of them (Prometheus multiprocess mode)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import httpx
import pytest
from lindung_shared.kafka.security import service_env

from .test_durability import _free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _checkins_counted(text: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("lindung_http_requests_total{") and 'route="/v1/checkins"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_two_api_processes_share_one_metrics_view(
    db_settings, signer, make_venue, citizen_factory, set_colour
):
    venue = await make_venue(capacity=100)
    citizens = [citizen_factory() for _ in range(8)]
    for citizen in citizens:
        await set_colour(citizen.person_id, "green")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_settings.database_url,
        "DATABASE_NAME": db_settings.database_name,
        "CHECKIN_HTTP_PORT": str(port),
        "CHECKIN_API_WORKERS": "2",
        "LINDUNG_KEYS_DIR": str(db_settings.keys_dir),
        "LINDUNG_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lindung_checkin.api",
        env=service_env("checkin", env),  # its own Kafka principal
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # A new connection per request, so that both processes get some.
        async with httpx.AsyncClient(
            base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
        ) as http:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the API did not start"
                await asyncio.sleep(0.3)
            qr = signer.sign(venue.venue_id)
            answers = await asyncio.gather(
                *(http.post("/v1/checkins", json={"qr": qr}, headers=c.headers) for c in citizens)
            )
            assert [a.json()["outcome"] for a in answers] == ["admitted"] * len(citizens)
            assert answers[-1].json()["occupancy"]["present"] <= len(citizens)
            seen = [_checkins_counted((await http.get("/metrics")).text) for _ in range(6)]
        # Whichever process answers /metrics, it counts every process's check-ins.
        assert seen == [float(len(citizens))] * len(seen)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)
