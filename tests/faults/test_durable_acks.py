"""Acknowledged means durable: each kind of write is answered 2xx only after its transaction
committed. The API process is killed with SIGKILL the moment the answer arrives (so nothing it
would do after answering can run), and the row must be in its database.

Before the fix the request session committed after the response had gone out: an immediate
kill lost acknowledged writes (and an immediate read answered 404)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from lindung_shared.auth import TokenIssuer
from lindung_shared.settings import ServiceSettings, with_database

from tests.e2e.devsystems import DevSystems

from .procs import ServiceProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

Check = Callable[[dict[str, Any]], str]  # the answer's body -> SQL that must return a row


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer.development(ServiceSettings())


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("durable-acks")


def _auth(issuer: TokenIssuer, role: str, subject: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issuer.issue(subject=subject, roles=[role])}


async def _row_exists(database: str, sql: str) -> bool:
    url = with_database(ServiceSettings().database_url, database)
    conn = await asyncpg.connect(url)
    try:
        return bool(await conn.fetchval(sql))
    finally:
        await conn.close()


class Killer:
    """Sends each write to a fresh API process and kills it -9 as soon as the answer is in."""

    def __init__(self, service: str, database: str, logs: Path) -> None:
        self.process = ServiceProcess(service, "api", logs)
        self.database = database

    def __enter__(self) -> Killer:
        return self

    def __exit__(self, *_: object) -> None:
        self.process.stop()

    async def write(
        self, method: str, path: str, *, expect: int, exists: str, **kwargs: Any
    ) -> dict[str, Any]:
        self.process.start()
        self.process.wait_ready()
        async with httpx.AsyncClient(base_url=self.process.url, timeout=30) as http:
            response = await http.request(method, path, **kwargs)
            self.process.kill9()
        assert response.status_code == expect, response.text
        body: dict[str, Any] = response.json() if response.content else {}
        sql = exists.format(**body, **kwargs.get("params", {}))
        assert await _row_exists(self.database, sql), f"{method} {path}: acknowledged, not stored"
        return body


_VENUE = {
    "name": "Warung Tahan Banting",
    "category": "restaurant",
    "address": "Jl. Kemang Raya",
    "regency_code": "3171",
    "latitude": -6.26,
    "longitude": 106.81,
    "capacity": 40,
    "max_stay_minutes": 120,
    "entrances": ["main", "side"],
}


async def test_venue_registry_writes_survive_a_kill_right_after_the_answer(issuer, logs):
    manager = _auth(issuer, "venue_manager", f"manager-{uuid.uuid4().hex[:8]}")
    with Killer("venue-registry", "lindung_venue_registry", logs) as k:
        venue = await k.write(
            "POST",
            "/v1/venues",
            expect=201,
            json=_VENUE,
            headers=manager,
            exists="SELECT 1 FROM venues WHERE id = '{id}'",
        )
        vid = venue["id"]
        await k.write(
            "PATCH",
            f"/v1/venues/{vid}",
            expect=200,
            json={"capacity": 41},
            headers=manager,
            exists=f"SELECT 1 FROM venues WHERE id = '{vid}' AND capacity = 41",
        )
        qr = await k.write(
            "POST",
            f"/v1/venues/{vid}/qr-codes",
            expect=201,
            json={"entrance": "main"},
            headers=manager,
            exists="SELECT 1 FROM qr_codes WHERE id = '{id}'",
        )
        await k.write(
            "DELETE",
            f"/v1/venues/{vid}/qr-codes/{qr['id']}",
            expect=204,
            headers=manager,
            exists=f"SELECT 1 FROM qr_codes WHERE id = '{qr['id']}' AND revoked_at IS NOT NULL",
        )
        await k.write(
            "POST",
            f"/v1/venues/{vid}/close",
            expect=200,
            headers=manager,
            exists=f"SELECT 1 FROM venues WHERE id = '{vid}' AND status = 'closed'",
        )


def _nik(serial: int) -> tuple[str, date]:
    born = date(1990, 5, 17)
    return f"317101{born.day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}", born


async def test_health_records_writes_survive_a_kill_right_after_the_answer(issuer, logs):
    serial = uuid.uuid4().int % 9000 + 1000
    nik, born = _nik(serial)
    # Registration is checked with the civil registry: the development one knows this person.
    async with httpx.AsyncClient(timeout=30) as http:
        await DevSystems().enrol(
            http,
            nik=nik,
            full_name="Tahan Banting",
            birth_date=born,
            sex="M",
            regency_code="3171",
        )
    with Killer("health-records", "lindung_health_records", logs) as k:
        person = await k.write(
            "POST",
            "/v1/people",
            expect=201,
            json={
                "nik": nik,
                "name": "Tahan Banting",
                "birth_date": born.isoformat(),
                "phone": f"+62812{serial:04d}{serial:04d}",
            },
            exists="SELECT 1 FROM people WHERE id = '{person_id}'",
        )
        pid = person["person_id"]
        await k.write(
            "PATCH",
            "/v1/people/me",
            expect=200,
            json={"language": "en"},
            headers=_auth(issuer, "citizen", pid),
            exists=f"SELECT 1 FROM people WHERE id = '{pid}' AND language = 'en'",
        )


async def test_notifier_writes_survive_a_kill_right_after_the_answer(issuer, logs):
    subject = str(uuid.uuid4())
    citizen = _auth(issuer, "citizen", subject)
    with Killer("notifier", "lindung_notifier", logs) as k:
        await k.write(
            "PUT",
            "/v1/me/preferences",
            expect=200,
            json={"language": "en"},
            headers=citizen,
            exists=f"SELECT 1 FROM recipients WHERE subject = '{subject}' AND language = 'en'",
        )
        device = await k.write(
            "POST",
            "/v1/devices",
            expect=201,
            json={"platform": "android", "token": f"fcm-{uuid.uuid4().hex}"},
            headers=citizen,
            exists="SELECT 1 FROM devices WHERE id = '{id}'",
        )
        await k.write(
            "DELETE",
            f"/v1/devices/{device['id']}",
            expect=204,
            headers=citizen,
            exists=f"SELECT 1 FROM devices WHERE id = '{device['id']}' AND NOT active",
        )
