"""Schemathesis over the OpenAPI of all four services, running as real processes, with the
token of every role in turn (and none): it fails on any 5xx and on any response that breaks
its documented schema. Bounded in time: LINDUNG_FUZZ_SECONDS per service (45 in `make
test`, the four run side by side); `make fuzz` runs it for ten minutes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import httpx
import pytest
from lindung_health.settings import Settings as HealthSettings
from lindung_health.testing import enrol_resident
from lindung_shared.auth import Jurisdiction, TokenIssuer
from lindung_shared.settings import ServiceSettings

from .conftest import ROOT, Api

BUDGET = int(os.environ.get("LINDUNG_FUZZ_SECONDS", "45"))

pytestmark = pytest.mark.timeout(BUDGET + 420)


def _tokens(apis: dict[str, Api]) -> dict[str, str]:
    """A token per role; the citizen is a registered person, so that routes go past it."""
    issuer = TokenIssuer.development(ServiceSettings())  # type: ignore[call-arg]
    serial = uuid.uuid4().int
    # Born on a day of its own: the hostile-input tests draw their NIKs for 1985-01-10.
    nik = f"317101{12 + 40:02d}0387{serial % 9000 + 1000:04d}"
    # Registration asks the civil registry: the development one is told of this person first.
    asyncio.run(enrol_resident(HealthSettings(), nik, "Fuzz Citizen", date(1987, 3, 12)))
    registered = httpx.post(
        f"{apis['health-records'].url}/v1/people",
        json={
            "nik": nik,
            "name": "Fuzz Citizen",
            "birth_date": "1987-03-12",
            "phone": f"+62811{serial % 10**8:08d}",
        },
        timeout=60,
    )
    # A new NIK: 201 with the id (an existing person's id is never answered).
    person = (registered.json()["person_id"] if registered.status_code == 201 else None) or str(
        uuid.uuid4()
    )
    subjects = {
        "citizen": person,
        "venue_manager": f"manager-fuzz-{serial % 10**6}",
        "health_officer": "officer-fuzz",
        "admin": "admin-fuzz",
        "feed": "feed-fuzz",
        "service": "service-fuzz",
    }
    national = Jurisdiction.national()  # an officer's token reaches nowhere without one
    return {
        role: issuer.issue(
            subject=s, roles=[role], jurisdiction=national if role == "health_officer" else None
        )
        for role, s in subjects.items()
    }


def _summary(report: Path) -> tuple[int, list[str]]:
    """Requests sent, and the 5xx answers among them (method, path, status)."""
    requests, errors = 0, []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        for interaction in finished["recorder"].get("interactions", {}).values():
            requests += 1
            status = (interaction.get("response") or {}).get("status_code", 0)
            if status >= 500:
                request = interaction["request"]
                errors.append(f"{request['method']} {request['uri']} -> {status}")
    return requests, errors


def test_fuzz_all_four_services(apis: dict[str, Api], tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LINDUNG_FUZZ_TOKENS": json.dumps(_tokens(apis)),
        "SCHEMATHESIS_HOOKS": "tests.hostile.fuzz_hooks",
        "PYTHONPATH": str(ROOT),
    }
    runs = {}
    for service, api in apis.items():
        report = tmp_path / f"{service}.ndjson"
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{api.url}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-time",
            str(BUDGET),
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "30",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
            "--no-color",
        ]
        log = (tmp_path / f"{service}.log").open("wb")
        runs[service] = (
            subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT),
            report,
        )
    failures = []
    total = 0
    for service, (process, report) in runs.items():
        code = process.wait(timeout=BUDGET + 360)
        requests, errors = _summary(report) if report.exists() else (0, ["no report"])
        total += requests
        print(f"fuzz {service}: {requests} requests, {len(errors)} 5xx, exit {code}")
        if code != 0 or errors or requests == 0:
            output = (tmp_path / f"{service}.log").read_text()
            failures.append(f"{service}: exit {code}, 5xx {errors[:10]}\n{output[-6000:]}")
    print(f"fuzz: {total} requests over four services in about {BUDGET} s each")
    assert not failures, "\n\n".join(failures)
