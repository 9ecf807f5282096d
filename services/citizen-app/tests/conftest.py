"""The citizen app's tests run against the whole suite: the four services' API and worker
processes (real PostgreSQL and Kafka) and the citizen app's own process, started once per
test module on ports derived from LINDUNG_E2E_PORT_BASE (away from the e2e story's)."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from lindung_shared.auth import TokenIssuer
from lindung_shared.settings import ServiceSettings
from lindung_shared.testing import running_processes

ROOT = Path(__file__).resolve().parents[3]
_BASE = int(os.environ.get("LINDUNG_E2E_PORT_BASE", "18000")) + 20
SERVICES = {
    "venue-registry": ("lindung_venues", _BASE + 1),
    "checkin": ("lindung_checkin", _BASE + 2),
    "health-records": ("lindung_health", _BASE + 3),
    "notifier": ("lindung_notifier", _BASE + 4),
}
APP_PORT = _BASE

NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
CVX = "http://hl7.org/fhir/sid/cvx"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"


@dataclass
class Suite:
    app: str
    registry: str
    checkin: str
    health: str
    notifier: str
    issuer: TokenIssuer

    def bearer(self, role: str, subject: str | None = None) -> dict[str, str]:
        token = self.issuer.issue(subject=subject or f"{role}-{uuid.uuid4().hex[:8]}", roles=[role])
        return {"Authorization": f"Bearer {token}"}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for service, (_package, port) in SERVICES.items():
        prefix = service.upper().replace("-", "_")
        env[f"{prefix}_HTTP_PORT"] = str(port)
        env[f"{prefix}_WORKER_METRICS_PORT"] = str(port + 1100)
    env["CITIZEN_APP_HTTP_PORT"] = str(APP_PORT)
    env["LINDUNG_ENV"] = "development"
    return env


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    commands = [
        (f"{service}-{role}", [sys.executable, "-m", f"{package}.{role}"])
        for service, (package, _port) in SERVICES.items()
        for role in ("api", "worker")
    ]
    commands.append(("citizen-app", [sys.executable, "-m", "lindung_citizen.api"]))
    urls = [f"http://127.0.0.1:{port}" for _package, port in SERVICES.values()]
    with running_processes(
        commands,
        env=_env(),
        logs=tmp_path_factory.mktemp("citizen-app-logs"),
        ready=[*urls, f"http://127.0.0.1:{APP_PORT}"],
        cwd=ROOT,
    ):
        yield Suite(
            f"http://127.0.0.1:{APP_PORT}",
            *urls,
            issuer=TokenIssuer.development(ServiceSettings()),
        )


# -- the story's building blocks, through the services' public APIs ----------------------------


@dataclass
class Venue:
    id: str
    name: str
    qr_id: str
    payload: str
    manager: dict[str, str]


@dataclass
class Person:
    name: str
    nik: str
    birth_date: date
    phone: str
    person_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def call(method: str, url: str, expect: int | tuple[int, ...] = 200, **kwargs: Any) -> Any:
    response = httpx.request(method, url, timeout=30, **kwargs)
    wanted = (expect,) if isinstance(expect, int) else expect
    assert response.status_code in wanted, (
        f"{method} {url}: {response.status_code} {response.text[:400]}"
    )
    return response.json() if response.content else None


def until(what: str, check: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def new_venue(suite: Suite, name: str, capacity: int = 100) -> Venue:
    manager = suite.bearer("venue_manager")
    venue = call(
        "POST",
        f"{suite.registry}/v1/venues",
        201,
        headers=manager,
        json={
            "name": name,
            "category": "mall",
            "address": "Jl. Sudirman 1",
            "regency_code": "3171",
            "latitude": -6.2,
            "longitude": 106.8,
            "capacity": capacity,
            "max_stay_minutes": 240,
            "entrances": ["main"],
            # Open since yesterday, so that offline visits from the last hours are possible.
            "operating_since": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        },
    )
    qr = call(
        "POST",
        f"{suite.registry}/v1/venues/{venue['id']}/qr-codes",
        201,
        headers=manager,
        json={"entrance": "main"},
    )
    # The check-in service learns of the venue over Kafka: wait until its door knows it.
    until(
        f"{name} to reach the check-in service",
        lambda: (
            httpx.get(
                f"{suite.checkin}/v1/venues/{venue['id']}/occupancy", headers=manager, timeout=10
            ).status_code
            == 200
        ),
    )
    return Venue(venue["id"], name, qr["id"], qr["payload"], manager)


def poster_png(suite: Suite, venue: Venue) -> bytes:
    response = httpx.get(
        f"{suite.registry}/v1/venues/{venue.id}/qr-codes/{venue.qr_id}/poster.png",
        headers=venue.manager,
        timeout=30,
    )
    assert response.status_code == 200
    return response.content


def _nik(index: int, born: date) -> str:
    serial = int(uuid.uuid4().hex[:4], 16) % 9000 + 1
    return (
        f"3171{1 + index % 40:02d}{born.day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
    )


def new_person(suite: Suite, name: str, index: int, vaccinated: bool = True) -> Person:
    born = date(1980 + index % 20, 1 + index % 12, 1 + index % 28)
    nik = _nik(index, born)
    phone = f"+62813{uuid.uuid4().int % 10**8:08d}"
    enrol(nik, name, born)
    body = call(
        "POST",
        f"{suite.health}/v1/people",
        (201,),  # a new NIK: only a created person's id is answered
        json={"nik": nik, "name": name, "birth_date": born.isoformat(), "phone": phone},
    )
    person_id = body["person_id"]
    token = suite.issuer.issue(subject=person_id, roles=["citizen"])
    person = Person(name, nik, born, phone, person_id, token)
    if vaccinated:
        vaccinate(suite, person)
    return person


def vaccinate(suite: Suite, person: Person) -> None:
    entries = []
    for dose, days_ago in ((1, 120), (2, 90)):
        entries.append(
            {
                "resource": {
                    "resourceType": "Immunization",
                    "identifier": [
                        {
                            "system": "https://sehatindonesiaku.kemkes.go.id/vaccination",
                            "value": f"{person.person_id}-{dose}",
                        }
                    ],
                    "status": "completed",
                    "vaccineCode": {"coding": [{"system": CVX, "code": "511"}]},
                    "patient": {"identifier": {"system": NIK_SYSTEM, "value": person.nik}},
                    "occurrenceDateTime": (
                        datetime.now(UTC) - timedelta(days=days_ago)
                    ).isoformat(),
                    "protocolApplied": [{"doseNumberPositiveInt": dose}],
                }
            }
        )
    call(
        "POST",
        f"{suite.health}/v1/feeds/fhir",
        headers=suite.bearer("feed"),
        json={"resourceType": "Bundle", "type": "batch", "entry": entries},
    )
    until(
        f"{person.name} to be green",
        lambda: (
            call("GET", f"{suite.health}/v1/people/me/status", headers=person.headers)["colour"]
            == "green"
        ),
    )


def pcr(suite: Suite, person: Person, positive: bool, sampled: datetime) -> None:
    observation = {
        "resourceType": "Observation",
        "identifier": [{"system": "https://lab.example.id/result", "value": uuid.uuid4().hex}],
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "94500-6"}]},
        "subject": {"identifier": {"system": NIK_SYSTEM, "value": person.nik}},
        "effectiveDateTime": sampled.isoformat(),
        "valueCodeableConcept": {
            "coding": [{"system": SNOMED, "code": "10828004" if positive else "260385009"}]
        },
    }
    call(
        "POST",
        f"{suite.health}/v1/feeds/fhir",
        headers=suite.bearer("feed"),
        json={"resourceType": "Bundle", "type": "batch", "entry": [{"resource": observation}]},
    )


def y4m_from_png(png: bytes, width: int = 960, height: int = 720, frames: int = 5) -> bytes:
    """A Y4M video (the format Chromium's fake camera reads) showing the poster: the header,
    then I420 frames (a full-size Y plane, then the U and V planes at half size each way)."""
    import io

    from PIL import Image

    poster = Image.open(io.BytesIO(png)).convert("RGB")
    poster.thumbnail((width - 40, height - 40))
    canvas = Image.new("RGB", (width, height), (128, 128, 128))
    canvas.paste(poster, ((width - poster.width) // 2, (height - poster.height) // 2))
    y, u, v = canvas.convert("YCbCr").split()
    half = (width // 2, height // 2)
    frame = (
        b"FRAME\n"
        + y.tobytes()
        + u.resize(half, Image.Resampling.BILINEAR).tobytes()
        + v.resize(half, Image.Resampling.BILINEAR).tobytes()
    )
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    return header + frame * frames


def sms_to(phone: str) -> list[dict[str, Any]]:
    """The messages the development SMS gateway (deploy/local/devsystems, started with the
    stack; its address in .stack/env) received for ``phone``, newest first."""
    url = os.environ.get("LINDUNG_DEVSYSTEMS_URL", "http://127.0.0.1:18081")
    token = os.environ.get("NOTIFIER_SMS_TOKEN", "dev-only-sms-token")
    answer = call(
        "GET",
        f"{url}/v1/sms/messages",
        params={"to": phone},
        headers={"Authorization": f"Bearer {token}"},
    )
    items: list[dict[str, Any]] = answer["items"]
    return items


def enrol(nik: str, full_name: str, birth_date: date) -> None:
    """Tell the development civil registry of a fictitious resident (idempotent), so that a
    registration checked against the registry finds them."""
    url = os.environ.get("LINDUNG_DEVSYSTEMS_URL", "http://127.0.0.1:18081")
    token = os.environ.get("LINDUNG_CIVIL_REGISTRY_TOKEN", "dev-only-civil-registry-token")
    call(
        "POST",
        f"{url}/civil-registry/v1/dev/residents",
        (200, 201),
        headers={"Authorization": f"Bearer {token}"},
        json={
            "nik": nik,
            "full_name": full_name,
            "birth_date": birth_date.isoformat(),
            "sex": "F" if int(nik[6:8]) > 40 else "M",
            "birth_place": "Jakarta",
            "regency_code": nik[:4],
        },
    )
