"""Run the Lindung processes in the background for the benchmarks and the demo.

Each process logs to a file (never to the terminal) and is stopped with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from lindung_shared.kafka.security import command_env

ROOT = Path(__file__).resolve().parents[1]


def port(variable: str, default: int) -> int:
    """A port from the environment (as the services read theirs), else the default."""
    return int(os.environ.get(variable) or default)


SERVICES = {
    "venue-registry": ("lindung_venues", port("VENUE_REGISTRY_HTTP_PORT", 8001)),
    "checkin": ("lindung_checkin", port("CHECKIN_HTTP_PORT", 8002)),
    "health-records": ("lindung_health", port("HEALTH_RECORDS_HTTP_PORT", 8003)),
    "notifier": ("lindung_notifier", port("NOTIFIER_HTTP_PORT", 8004)),
}


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (live ones, plus the
    children it has waited for), from /proc."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / ticks  # utime stime cutime cstime
        stack.extend(_children(p))
    return total


def postgres_pid() -> int | None:
    """The PostgreSQL server of the local stack (its postmaster.pid), if it runs here."""
    for candidate in sorted((ROOT / ".stack").glob("**/postmaster.pid")):
        try:
            return int(candidate.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return None


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def peak_rss_mb(self) -> float | None:
        """Peak resident set size (VmHWM) of the process and its children, in MB."""
        return _tree_peak_rss(self.popen.pid)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _tree_peak_rss(pid: int) -> float | None:
    peak = None
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    kb = int(line.split()[1])
                    peak = max(peak or 0.0, kb / 1024)
        except OSError:
            continue
    return peak


@dataclass
class Suite:
    log_dir: Path
    # The services run with their production settings, the per-person check-in limit
    # included: the ingest scenario's 20,000 people (2,000 with --quick) scan a few times a
    # minute each, well under it, so every scan pays for counting its hit as in production.
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> Process:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        handle = log.open("ab")
        popen = subprocess.Popen(
            args,
            cwd=ROOT,
            # A service's process connects to Kafka as its own principal (not the admin).
            env=command_env(args, {**self.env, **(extra_env or {})}),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def start_services(self) -> None:
        for service, (package, _port) in SERVICES.items():
            src = ROOT / "services" / service / "src" / package
            if (src / "api.py").exists():
                self.start(f"{service}-api", [sys.executable, "-m", f"{package}.api"])
            if (src / "worker.py").exists():
                self.start(f"{service}-worker", [sys.executable, "-m", f"{package}.worker"])

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for service, (package, port) in SERVICES.items():
            if not (ROOT / "services" / service / "src" / package / "api.py").exists():
                continue
            url = f"http://127.0.0.1:{port}/readyz"
            while True:
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                for p in self.processes:
                    if p.popen.poll() is not None:
                        raise RuntimeError(f"{p.name} exited; see {p.log}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} not ready at {url}")
                time.sleep(0.5)

    def peak_rss(self) -> dict[str, float | None]:
        return {p.name: p.peak_rss_mb() for p in self.processes}

    def stop(self) -> None:
        for p in self.processes:
            if p.popen.poll() is None:
                os.killpg(p.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in self.processes:
            try:
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.popen.pid, signal.SIGKILL)
                p.popen.wait(5)
        self.processes.clear()
