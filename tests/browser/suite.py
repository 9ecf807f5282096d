"""Start the four services (API and worker each) and the portal as real processes for the
browser tests, on ports of their own (``LINDUNG_E2E_PORT_BASE`` + 41-45, workers' metrics + 51-54: below the
ephemeral range that outgoing connections use), and stop them."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lindung_shared.testing import running_processes

ROOT = Path(__file__).resolve().parents[2]
OFFSET = 40

SERVICES = {
    "venue-registry": "lindung_venues",
    "checkin": "lindung_checkin",
    "health-records": "lindung_health",
    "notifier": "lindung_notifier",
}


@dataclass(frozen=True)
class SuiteUrls:
    registry: str
    checkin: str
    health: str
    notifier: str
    portal: str


def _base() -> int:
    return int(os.environ.get("LINDUNG_E2E_PORT_BASE", "18000")) + OFFSET


@contextmanager
def running_suite(logs: Path, portal_env: dict[str, str] | None = None) -> Iterator[SuiteUrls]:
    base = _base()
    env = dict(os.environ)
    env["LINDUNG_ENV"] = "development"
    ports: dict[str, int] = {}
    for i, service in enumerate(SERVICES, start=1):
        prefix = service.upper().replace("-", "_")
        ports[service] = base + i
        env[f"{prefix}_HTTP_PORT"] = str(base + i)
        env[f"{prefix}_WORKER_METRICS_PORT"] = str(base + 10 + i)
    env["PORTAL_HTTP_PORT"] = str(base + 5)
    env.update(portal_env or {})
    commands = [
        (f"{service}-{role}", [sys.executable, "-m", f"{package}.{role}"])
        for service, package in SERVICES.items()
        for role in ("api", "worker")
    ] + [("portal", [sys.executable, "-m", "lindung_portal.api"])]
    urls = SuiteUrls(
        *(f"http://127.0.0.1:{ports[s]}" for s in SERVICES), f"http://127.0.0.1:{base + 5}"
    )
    ready = [urls.registry, urls.checkin, urls.health, urls.notifier, urls.portal]
    with running_processes(commands, env=env, logs=logs, ready=ready, cwd=ROOT):
        yield urls
