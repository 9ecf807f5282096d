"""The four APIs as real processes (uvicorn, the real PostgreSQL and Kafka), on free ports,
for the hostile-input tests and the fuzzing: what a client outside sees, connections and
process memory included."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from lindung_shared.kafka.security import service_env

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "venue-registry": "lindung_venues",
    "checkin": "lindung_checkin",
    "health-records": "lindung_health",
    "notifier": "lindung_notifier",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Api:
    service: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def memory_kb(self, field: str = "VmHWM") -> int:
        """The process's peak (VmHWM) or current (VmRSS) resident memory, kB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise RuntimeError(f"no {field} for {self.service}")


def start_api(service: str, logs: Path, extra_env: dict[str, str] | None = None) -> Api:
    port = free_port()
    prefix = service.upper().replace("-", "_")
    env = dict(os.environ)
    env.update({f"{prefix}_HTTP_PORT": str(port), "LINDUNG_ENV": "development"})
    env.update(extra_env or {})
    env = service_env(service, env)  # its own Kafka principal (the tests run as the admin)
    log = logs / f"{service}-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", f"{PACKAGES[service]}.api"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Api(service, f"http://127.0.0.1:{port}", process, log)


def wait_ready(apis: list[Api], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for api in apis:
        while True:
            try:
                if httpx.get(f"{api.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if api.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{api.service} did not become ready:\n{api.log.read_text()[-3000:]}"
                )
            time.sleep(0.3)


def stop_apis(apis: list[Api]) -> None:
    for api in apis:
        if api.process.poll() is None:
            os.killpg(api.process.pid, signal.SIGTERM)
    for api in apis:
        try:
            api.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(api.process.pid, signal.SIGKILL)


#: Every test process calls from 127.0.0.1: the per-address limits are lifted (0: nothing is
#: counted) so that the fuzzing and these tests leave the address's budget to the e2e story
#: and the next run; test_rate_limits.py tests the limits that matter here (per phone, per
#: person) across two processes.
NO_ADDRESS_LIMITS = {
    "HEALTH_OTP_PER_ADDRESS_PER_15MIN": "0",
    "HEALTH_TOKEN_PER_ADDRESS_PER_15MIN": "0",
    "HEALTH_REGISTRATIONS_PER_ADDRESS_PER_HOUR": "0",
}


@pytest.fixture(scope="session")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Api]]:
    logs = tmp_path_factory.mktemp("hostile-logs")
    started = {service: start_api(service, logs, NO_ADDRESS_LIMITS) for service in PACKAGES}
    try:
        wait_ready(list(started.values()))
        yield started
    finally:
        stop_apis(list(started.values()))
