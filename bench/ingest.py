"""Scenario 1: check-in ingest, side by side with a bare FastAPI endpoint, in the same run.

Preparation goes through the real services: venues and their signed QR codes are created on
the venue registry's API and reach the check-in service over Kafka; the people's colours
arrive as ``status.changed`` events on the real topic (as health-records would publish them),
so that check-ins are admitted. Tokens are real development tokens.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from lindung_shared.auth import TokenIssuer
from lindung_shared.events import encode_envelope, make_event
from lindung_shared.events.catalogue import StatusChanged
from lindung_shared.kafka import create_producer
from lindung_shared.settings import ServiceSettings, with_database

from bench.suite import ROOT, SERVICES, Suite, port, postgres_pid, tree_cpu_seconds

REGISTRY = f"http://127.0.0.1:{SERVICES['venue-registry'][1]}"
CHECKIN = f"http://127.0.0.1:{SERVICES['checkin'][1]}"
BARE_PORT = port("BENCH_BARE_PORT", 8090)
LOADGEN = ROOT / "bench" / "loadgen"


def build_loadgen() -> Path:
    binary = Path(tempfile.gettempdir()) / "lindung-loadgen"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=LOADGEN, check=True)
    return binary


async def create_venues(issuer: TokenIssuer, count: int) -> list[dict[str, Any]]:
    manager = "bench-manager"
    headers = {
        "Authorization": "Bearer "
        + issuer.issue(subject=manager, roles=["venue_manager"], ttl_seconds=6 * 3600)
    }
    venues: list[dict[str, Any]] = []
    sem = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=REGISTRY, headers=headers, timeout=30) as client:

        async def one(i: int) -> None:
            async with sem:
                r = await client.post(
                    "/v1/venues",
                    json={
                        "name": f"Bench venue {i}",
                        "category": "office" if i % 2 else "restaurant",
                        "address": f"Jl. Bench {i}",
                        "regency_code": "3171",
                        "latitude": -6.2,
                        "longitude": 106.8,
                        "capacity": 1_000_000,
                        "max_stay_minutes": 240,
                        "entrances": ["main"],
                    },
                )
                r.raise_for_status()
                venue = r.json()
                q = await client.post(
                    f"/v1/venues/{venue['id']}/qr-codes", json={"entrance": "main"}
                )
                q.raise_for_status()
                venues.append({"id": venue["id"], "payload": q.json()["payload"]})

        await asyncio.gather(*(one(i) for i in range(count)))
    return venues


async def publish_green(settings: ServiceSettings, people: list[str]) -> None:
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="bench")
    await producer.start()
    try:
        now = datetime.now(UTC)
        for person in people:
            event = make_event(
                "status.changed",
                StatusChanged(
                    person_id=uuid.UUID(person),
                    colour="green",
                    reasons=["vaccinated"],
                    rule_version="bench",
                    changed_at=now,
                ),
            )
            await producer.send(
                "lindung.health-status",
                encode_envelope(event),
                key=event.key.encode(),
                headers=[("event-type", b"status.changed"), ("event-version", b"1")],
            )
        await producer.flush()
    finally:
        await producer.stop()


async def wait_for_copies(
    settings: ServiceSettings, venues: int, people: list[str], timeout: float = 600
) -> float:
    """Wait until the check-in service holds the venues and colours; returns seconds."""
    dsn = with_database(settings.database_url, "lindung_checkin")
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        while time.monotonic() - started < timeout:
            have_people = await conn.fetchval(
                "SELECT count(*) FROM person_status WHERE person_id = ANY($1::uuid[])", people
            )
            have_venues = await conn.fetchval(
                "SELECT count(*) FROM venues WHERE name LIKE 'Bench venue %'"
            )
            if have_people >= len(people) and have_venues >= venues:
                return time.monotonic() - started
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    raise RuntimeError("the check-in service did not receive the venues and statuses in time")


def write_requests(
    path: Path,
    url: str,
    issuer: TokenIssuer,
    people: list[str],
    venues: list[dict[str, Any]],
    count: int,
) -> None:
    tokens = [issuer.issue(subject=p, roles=["citizen"], ttl_seconds=6 * 3600) for p in people]
    with path.open("w") as out:
        for i in range(count):
            venue = venues[(i * 7919) % len(venues)]
            out.write(
                json.dumps(
                    {
                        "method": "POST",
                        "url": url,
                        "headers": {
                            "Authorization": f"Bearer {tokens[i % len(tokens)]}",
                            "Content-Type": "application/json",
                        },
                        "body": json.dumps({"qr": venue["payload"]}),
                    }
                )
                + "\n"
            )


def run_loadgen(binary: Path, requests: Path, rate: int, seconds: int) -> dict[str, Any]:
    out = subprocess.run(
        [str(binary), "-requests", str(requests), "-rate", str(rate), "-duration", f"{seconds}s"],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def sweep(
    binary: Path,
    requests: Path,
    rates: list[int],
    seconds: int,
    distinct_tokens: int,
    api_pid: int | None = None,
) -> list[dict[str, Any]]:
    """Each rate for ``seconds``; with ``api_pid``, the CPU per answered request of that
    process tree and of PostgreSQL, and the machine's load average, beside each step."""
    # Warm-up, not measured: every person's token is seen once and the pools are filled, as
    # in a service that has been up for a while (an app reuses its token for hours, so a
    # signature check per token, not per request, is the steady state).
    run_loadgen(binary, requests, 500, max(3, min(60, distinct_tokens // 500 + 1)))
    time.sleep(1)
    steps = []
    pg = postgres_pid()
    for rate in rates:
        before = (
            tree_cpu_seconds(api_pid) if api_pid else 0.0,
            tree_cpu_seconds(pg) if pg else 0.0,
        )
        step = run_loadgen(binary, requests, rate, seconds)
        answered = max(1, int(step.get("sent", 0)) - int(step.get("errors", 0)))
        if api_pid:
            step["api_cpu_ms_per_request"] = round(
                (tree_cpu_seconds(api_pid) - before[0]) * 1000 / answered, 3
            )
        if pg:
            step["postgres_cpu_ms_per_request"] = round(
                (tree_cpu_seconds(pg) - before[1]) * 1000 / answered, 3
            )
        step["load_average_1m"] = os.getloadavg()[0]
        steps.append(step)
        print(
            f"    {rate:>5}/s: p50 {step['p50_ms']:.1f} ms  p99 {step['p99_ms']:.1f} ms  "
            f"errors {step['errors']}  statuses {step['statuses']}  "
            f"API {step.get('api_cpu_ms_per_request', '-')} ms/req  "
            f"PG {step.get('postgres_cpu_ms_per_request', '-')} ms/req  "
            f"load {step['load_average_1m']:.2f}",
            flush=True,
        )
        if step["p99_ms"] > 2000 or step["errors"] > step["sent"] * 0.05:
            break  # far past the knee: more load only wastes the run's time
        time.sleep(2)
    return steps


def best_rate(steps: list[dict[str, Any]]) -> int | None:
    ok = [
        s
        for s in steps
        if s["p99_ms"] < 100 and s["errors"] == 0 and s["achieved_rate"] >= 0.97 * s["target_rate"]
    ]
    return int(max(s["target_rate"] for s in ok)) if ok else None


async def freshness(
    settings: ServiceSettings,
    issuer: TokenIssuer,
    people: list[str],
    venues: list[dict[str, Any]],
    samples: int = 200,
) -> dict[str, float]:
    """From the 200 of a check-in to the visit being visible to another connection (the
    matcher's view of the visits table)."""
    dsn = with_database(settings.database_url, "lindung_checkin")
    conn = await asyncpg.connect(dsn)
    lags: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=CHECKIN, timeout=10) as client:
            for i in range(samples):
                token = issuer.issue(subject=people[i % len(people)], roles=["citizen"])
                r = await client.post(
                    "/v1/checkins",
                    json={"qr": venues[i % len(venues)]["payload"]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                acked = time.perf_counter()
                visit_id = r.json().get("visit_id")
                if r.status_code != 200 or not visit_id:
                    continue
                while not await conn.fetchval(
                    "SELECT 1 FROM visits WHERE visit_id = $1", uuid.UUID(visit_id)
                ):
                    await asyncio.sleep(0.001)
                lags.append((time.perf_counter() - acked) * 1000)
    finally:
        await conn.close()
    lags.sort()
    if not lags:
        return {}
    return {
        "samples": len(lags),
        "p50_ms": lags[len(lags) // 2],
        "p99_ms": lags[min(len(lags) - 1, int(len(lags) * 0.99))],
    }


async def consumer_lag() -> dict[str, float]:
    lag: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=5) as client:
        for name, metrics_port in (
            ("venue-registry", port("VENUE_REGISTRY_WORKER_METRICS_PORT", 9101)),
            ("checkin", port("CHECKIN_WORKER_METRICS_PORT", 9102)),
            ("health-records", port("HEALTH_RECORDS_WORKER_METRICS_PORT", 9103)),
            ("notifier", port("NOTIFIER_WORKER_METRICS_PORT", 9104)),
        ):
            try:
                text = (await client.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            except httpx.HTTPError:
                continue
            total = 0.0
            for line in text.splitlines():
                if line.startswith("lindung_consumer_lag{"):
                    total += float(line.rsplit(" ", 1)[1])
            lag[name] = total
    return lag


async def prepare(
    settings: ServiceSettings, issuer: TokenIssuer, venues: int, people: int
) -> tuple[list[dict[str, Any]], list[str], float]:
    venue_list = await create_venues(issuer, venues)
    person_ids = [str(uuid.uuid4()) for _ in range(people)]
    await publish_green(settings, person_ids)
    propagation = await wait_for_copies(settings, venues, person_ids)
    return venue_list, person_ids, propagation


def run(
    suite: Suite, *, venues: int, people: int, rates: list[int], seconds: int
) -> dict[str, Any]:
    settings = ServiceSettings()
    issuer = TokenIssuer.development(settings)
    binary = build_loadgen()
    print("  preparing venues and people through the real services...", flush=True)
    started = time.monotonic()
    venue_list, person_ids, propagation = asyncio.run(prepare(settings, issuer, venues, people))
    prepared = time.monotonic() - started
    with tempfile.TemporaryDirectory() as tmp:
        count = max(rates) * seconds
        checkin_requests = Path(tmp) / "checkin.jsonl"
        write_requests(
            checkin_requests, f"{CHECKIN}/v1/checkins", issuer, person_ids, venue_list, count
        )
        bare_requests = Path(tmp) / "bare.jsonl"
        write_requests(
            bare_requests,
            f"http://127.0.0.1:{BARE_PORT}/v1/checkins",
            issuer,
            person_ids[:100],
            venue_list[:100],
            min(count, 1000),
        )
        bare = suite.start(
            "bare-endpoint",
            [sys.executable, "-m", "bench.bare_app"],
            {"BARE_APP_PORT": str(BARE_PORT), "PYTHONPATH": str(ROOT)},
        )
        deadline = time.monotonic() + 180  # a minute or more to start on a busy machine
        while time.monotonic() < deadline:
            try:
                httpx.post(f"http://127.0.0.1:{BARE_PORT}/v1/checkins", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        print("  bare endpoint:", flush=True)
        bare_steps = sweep(binary, bare_requests, rates, seconds, 100, bare.popen.pid)
        bare.popen.terminate()
        bare.popen.wait(10)
        print("  check-in:", flush=True)
        api = next(p for p in suite.processes if p.name == "checkin-api")
        checkin_steps = sweep(
            binary, checkin_requests, rates, seconds, len(person_ids), api.popen.pid
        )
    fresh = asyncio.run(freshness(settings, issuer, person_ids, venue_list))
    lag = asyncio.run(consumer_lag())
    at_1000 = next((s for s in checkin_steps if s["target_rate"] == 1000), None)
    best, best_bare = best_rate(checkin_steps), best_rate(bare_steps)
    return {
        "venues": venues,
        "people": people,
        "seconds_per_step": seconds,
        "preparation_seconds": round(prepared, 1),
        "event_propagation_seconds": round(propagation, 2),
        "checkin": checkin_steps,
        "bare": bare_steps,
        "best_rate_p99_under_100ms": best,
        "bare_best_rate_p99_under_100ms": best_bare,
        "ratio_to_bare": round(best / best_bare, 2) if best and best_bare else None,
        "at_1000_per_s": {k: at_1000[k] for k in ("p50_ms", "p95_ms", "p99_ms", "errors")}
        if at_1000
        else None,
        "freshness": fresh,
        "consumer_lag": lag,
        "loadgen": "bench/loadgen (Go, open loop, latency from intended send time)",
        "workers": os.environ.get("CHECKIN_API_WORKERS", "1"),
    }
