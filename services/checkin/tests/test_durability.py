"""After the 200, killing the API process loses nothing: the visit is committed first."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid

import httpx
import pytest
from lindung_shared.kafka.security import service_env

from .helpers import visit

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_acknowledged_check_in_survives_sigkill(
    db_settings, signer, make_venue, green_citizen, sessions
):
    venue = await make_venue()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_settings.database_url,
        "DATABASE_NAME": db_settings.database_name,
        "CHECKIN_HTTP_PORT": str(port),
        "LINDUNG_KEYS_DIR": str(db_settings.keys_dir),
        "LINDUNG_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lindung_checkin.api",
        env=service_env("checkin", env),  # its own Kafka principal
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            deadline = time.monotonic() + 150  # start-up takes a minute on a busy machine
            while True:
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the API did not start"
                await asyncio.sleep(0.2)
            response = await http.post(
                "/v1/checkins",
                json={"qr": signer.sign(venue.venue_id), "client_id": "durable-1"},
                headers=green_citizen.headers,
            )
            assert response.status_code == 200, response.text
            visit_id = response.json()["visit_id"]
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
    row = await visit(sessions, visit_id)
    assert row.person_id == green_citizen.person_id
    assert row.client_id == "durable-1"
    assert uuid.UUID(visit_id) == row.visit_id
