"""Real service processes for the fault tests: started as `make run` starts them, killed with
SIGKILL, restarted, and timed until ready."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from lindung_shared.kafka.security import service_env

ROOT = Path(__file__).resolve().parents[2]

PACKAGES = {
    "venue-registry": "lindung_venues",
    "checkin": "lindung_checkin",
    "health-records": "lindung_health",
    "notifier": "lindung_notifier",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    """One API or worker process of a service (``role`` is ``api`` or ``worker``)."""

    service: str
    role: str
    logs: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def name(self) -> str:
        return f"{self.service}-{self.role}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        prefix = self.service.upper().replace("-", "_")
        env = dict(os.environ)
        env.update(
            {
                "LINDUNG_ENV": "development",
                f"{prefix}_HTTP_PORT": str(self.port),
                # A worker's metrics listen on this port (the API does not use it).
                f"{prefix}_WORKER_METRICS_PORT": str(self.port),
            }
        )
        env.update(self.env)
        # The service's own Kafka principal (the tests run as the admin).
        env = service_env(self.service, env)
        self.starts += 1
        log = (self.logs / f"{self.name}-{self.port}.log").open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", f"{PACKAGES[self.service]}.{self.role}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill9(self) -> None:
        assert self.popen is not None
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)

    def wait_ready(self, timeout: float = 90.0) -> float:
        """Seconds until ``/readyz`` (API) or the metrics endpoint (worker) answers 200."""
        started = time.monotonic()
        path = "/readyz" if self.role == "api" else "/metrics"
        while True:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited ({self.popen.returncode}); see {self.logs}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{self.name} not ready after {timeout}s; see {self.logs}")
            time.sleep(0.1)
