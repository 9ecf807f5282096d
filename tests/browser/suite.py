"""Start the four services (API and worker each) and the portal as real processes for the
browser tests, on ports of their own (``LINDUNG_E2E_PORT_BASE`` + 41-45, workers' metrics + 51-54: below the
ephemeral range that outgoing connections use), and stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

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
        (f"{service}-{role}", f"{package}.{role}")
        for service, package in SERVICES.items()
        for role in ("api", "worker")
    ] + [("portal", "lindung_portal.api")]
    processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    for name, module in commands:
        log = logs / f"{name}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append((name, popen, log))
    urls = SuiteUrls(
        *(f"http://127.0.0.1:{ports[s]}" for s in SERVICES), f"http://127.0.0.1:{base + 5}"
    )
    try:
        deadline = time.monotonic() + 180
        for url in (urls.registry, urls.checkin, urls.health, urls.notifier, urls.portal):
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=3).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                dead = [name for name, p, _ in processes if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    for name, _, log in processes:
                        tail = log.read_text(errors="replace").splitlines()[-15:]
                        print(f"--- {name}:\n" + "\n".join(tail))
                    raise RuntimeError(f"{url} did not become ready; exited: {dead}")
                time.sleep(0.5)
        yield urls
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
            if code not in (0, -signal.SIGTERM):
                print(f"--- {name} exited {code}; last lines of {log}:")
                print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))
