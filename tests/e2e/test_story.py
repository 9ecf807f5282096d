"""End to end across all four services, each running as its real API and worker processes
against the real PostgreSQL and Kafka: the whole story in tests/e2e/story.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lindung_shared.auth import TokenIssuer
from lindung_shared.settings import ServiceSettings

from .story import Story, Urls

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]

ROOT = Path(__file__).resolve().parents[2]
# Ports away from `make run`'s, so the test also works beside a running suite.
# LINDUNG_E2E_PORT_BASE moves them, so that two checkouts can run the story side by side.
_BASE = int(os.environ.get("LINDUNG_E2E_PORT_BASE", "18000"))
SERVICES = {
    "venue-registry": ("lindung_venues", _BASE + 1, _BASE + 1101),
    "checkin": ("lindung_checkin", _BASE + 2, _BASE + 1102),
    "health-records": ("lindung_health", _BASE + 3, _BASE + 1103),
    "notifier": ("lindung_notifier", _BASE + 4, _BASE + 1104),
}


def _env(service: str, port: int, metrics: int) -> dict[str, str]:
    prefix = service.upper().replace("-", "_")
    env = dict(os.environ)
    env[f"{prefix}_HTTP_PORT"] = str(port)
    env[f"{prefix}_WORKER_METRICS_PORT"] = str(metrics)
    env["LINDUNG_ENV"] = "development"
    return env


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Urls]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    for service, (package, port, metrics) in SERVICES.items():
        for role in ("api", "worker"):
            log = logs / f"{service}-{role}.log"
            popen = subprocess.Popen(
                [sys.executable, "-m", f"{package}.{role}"],
                cwd=ROOT,
                env=_env(service, port, metrics),
                stdin=subprocess.DEVNULL,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            processes.append((f"{service}-{role}", popen, log))
    try:
        deadline = time.monotonic() + 120
        for service, (_package, port, _metrics) in SERVICES.items():
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                dead = [name for name, p, _ in processes if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"{service} did not become ready; exited: {dead}")
                time.sleep(0.5)
        yield Urls(*(f"http://127.0.0.1:{port}" for _, port, _ in SERVICES.values()))
    finally:
        for _, popen, _ in processes:
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGTERM)
        for name, popen, log in processes:
            try:
                code = popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                code = popen.wait(5)
            # Graceful shutdown is part of the contract: SIGTERM ends every process cleanly.
            if code not in (0, -signal.SIGTERM):
                print(f"--- {name} exited {code}; last lines of {log}:")
                print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))


def test_the_whole_story(suite: Urls) -> None:
    import asyncio

    lines: list[str] = []
    story = Story(TokenIssuer.development(ServiceSettings()), urls=suite, narrate=lines.append)
    try:
        results = asyncio.run(story.run())
    finally:
        print("\n".join(lines))
    assert results["citra"]["colour"] == "red"
    assert results["eko"]["outcome"] == "refused"
    assert results["seconds_to_black"] < 60
    budi = results["inbox_Budi"]
    assert len(budi) == 1, "one exposure, one notification: never twice"
    assert "Mal Lindung" in budi[0]["body"]
    assert "Ayu" not in budi[0]["body"], "a contact is never told who the case is"
