"""Bulk import benchmark: an NDJSON backfill end to end through the real processes, and what a
feed record meanwhile takes to change a status.

    source deploy/local/activate.sh
    python services/health-records/bench/import_bench.py [--records 1000000]

On a fresh throwaway database:

1. registers P people (one per 2 records) with COPY; writes the NDJSON file (the feed bench's
   records: Immunizations, one in 20 a PCR result);
2. starts the health-records API and one worker as processes (``python -m lindung_health.api``
   and ``.worker``, on ``LINDUNG_IMPORT_BENCH_HTTP_PORT`` / ``LINDUNG_IMPORT_BENCH_METRICS_PORT``,
   else ``HEALTH_RECORDS_HTTP_PORT`` / ``HEALTH_RECORDS_WORKER_METRICS_PORT``);
3. ``lindung feeds import FILE`` (its functions, in this process): upload in 8 MiB parts,
   start, follow until complete; lines/s of the upload and of the apply;
4. meanwhile, every ``--probe-interval`` seconds, one feed record for a probe person over
   ``POST /v1/feeds/fhir``: its answer is sent after the status is recomputed and committed, so
   its latency is "record -> status changed"; p50/p99;
5. CPU seconds of the worker process and of PostgreSQL per line (from /proc).

Prints one JSON object; report ``uptime`` beside it (the machine is shared).
"""

# The driver blocks on purpose (subprocesses, a polling loop): nothing else runs in its loop.
# ruff: noqa: ASYNC212, ASYNC220

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import httpx
from feed_bench import _process_tree_cpu, feed, register, unique_people
from lindung_health.manifest import MIGRATIONS_DIR
from lindung_health.settings import Settings
from lindung_health.testing import bundle, immunization
from lindung_health.toolkit import Toolkit
from lindung_shared import feed_import
from lindung_shared.kafka.security import service_env
from lindung_shared.testing import bearer, fresh_database


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_ready(url: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("health-records API not ready")


def probe(
    url: str, headers: dict[str, str], stop: Any, interval: float, niks: list[str]
) -> list[float]:
    """Feed records for registered people, one at a time: seconds from send to the committed
    status (the 200)."""
    latencies: list[float] = []
    n = 0
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        while not stop.is_set():
            nik = niks[n % len(niks)]
            record = immunization(
                nik, ident=f"probe-{n}-{nik}", when=datetime.now(UTC) - timedelta(days=20)
            )
            started = time.perf_counter()
            response = http.post("/v1/feeds/fhir", json=bundle(record))
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            n += 1
            stop.wait(interval)
    return latencies


async def main(args: argparse.Namespace) -> dict[str, Any]:
    import threading

    base = Settings()
    async with fresh_database(base, MIGRATIONS_DIR) as settings:
        tk = Toolkit.from_settings(settings)
        dsn = settings.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://")
        people = unique_people(max(1, args.records // 2))
        await register(dsn, tk, people)
        folder = Path(tempfile.mkdtemp(prefix="lindung-import-"))
        path = folder / "backfill.ndjson"
        with path.open("wb") as out:
            for start in range(0, args.records, 50_000):
                chunk = feed(people, min(args.records, start + 50_000), start)
                out.write(b"".join(json.dumps(r).encode() + b"\n" for r in chunk))
        # Its own ports (under `make bench` the suite's health-records runs on the usual ones).
        port = int(os.environ.get("LINDUNG_IMPORT_BENCH_HTTP_PORT", settings.http_port))
        metrics = os.environ.get(
            "LINDUNG_IMPORT_BENCH_METRICS_PORT", str(settings.worker_metrics_port)
        )
        env = {
            **os.environ,
            "DATABASE_NAME": settings.database_name,
            "LINDUNG_LOG_LEVEL": "WARNING",
            "HEALTH_RECORDS_HTTP_PORT": str(port),
            "HEALTH_RECORDS_WORKER_METRICS_PORT": metrics,
        }
        env = service_env("health-records", env)  # its own Kafka principal
        url = f"http://127.0.0.1:{port}"
        logs = (folder / "api.log").open("wb"), (folder / "worker.log").open("wb")
        api = subprocess.Popen(
            [sys.executable, "-m", "lindung_health.api"], env=env, stdout=logs[0], stderr=logs[0]
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "lindung_health.worker"], env=env, stdout=logs[1], stderr=logs[1]
        )
        try:
            _wait_ready(url)
            data_dir = await _setting(dsn, "data_directory")
            headers = bearer(settings, "feed", "import-bench")
            token = next(v for k, v in headers.items() if k.lower() == "authorization")
            os.environ["LINDUNG_FEED_TOKEN"] = token.split(" ", 1)[1]
            stop = threading.Event()
            latencies: list[float] = []
            prober = threading.Thread(
                target=lambda: latencies.extend(
                    probe(url, headers, stop, args.probe_interval, [n for n, _ in people[-500:]])
                )
            )
            cli = argparse.Namespace(
                url=url,
                source="import-bench",
                part_bytes=feed_import.PART_BYTES,
                follow=None,
                no_wait=True,
                files=[path],
            )
            worker_cpu0, pg_cpu0 = _cpu(worker.pid), _process_tree_cpu(str(data_dir)) or 0.0
            prober.start()
            started = time.perf_counter()
            assert await asyncio.to_thread(feed_import.run, cli) == 0
            uploaded = time.perf_counter() - started
            with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
                status: dict[str, Any] = {}
                while True:
                    found = await _latest_job(dsn)
                    status = http.get(f"/v1/feeds/imports/{found}").json()
                    if status["state"] == "completed":
                        break
                    await asyncio.sleep(1)
            total = time.perf_counter() - started
            worker_cpu = _cpu(worker.pid) - worker_cpu0
            pg_cpu = (_process_tree_cpu(str(data_dir)) or 0.0) - pg_cpu0
            stop.set()
            prober.join()
        finally:
            for process in (api, worker):
                process.send_signal(signal.SIGTERM)
            for process in (api, worker):
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        lines = status["lines_done"]
        ordered = sorted(latencies)
        return {
            "records": args.records,
            "file_megabytes": round(path.stat().st_size / 1e6, 1),
            "upload_seconds": round(uploaded, 1),
            "upload_lines_per_second": round(args.records / uploaded),
            "end_to_end_seconds": round(total, 1),
            "end_to_end_lines_per_second": round(lines / total),
            "accepted": status["accepted"],
            "rejected": status["rejected"],
            "worker_cpu_us_per_line": round(worker_cpu / lines * 1e6),
            "postgres_cpu_us_per_line": round(pg_cpu / lines * 1e6),
            "probe_records": len(ordered),
            "record_to_status_p50_seconds": (
                round(statistics.median(ordered), 3) if ordered else None
            ),
            "record_to_status_p99_seconds": (
                round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3)
                if ordered
                else None
            ),
            "uptime": os.getloadavg(),
            "logs": str(folder),
        }


async def _setting(dsn: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval(f"SELECT current_setting('{name}')"))
    finally:
        await conn.close()


async def _latest_job(dsn: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return str(
            await conn.fetchval("SELECT id FROM feed_imports ORDER BY created_at DESC LIMIT 1")
        )
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--probe-interval", type=float, default=0.5)
    result = asyncio.run(main(parser.parse_args()))
    print(json.dumps(result, indent=2, default=str))
