"""Repeated fixed-rate steps against the check-in API, to see warm-up and steady state.

    python -m bench.steps [--venues 1000] [--people 20000] 500 500 500 1000 1000 1000

Starts the suite like ``make bench`` (run it under ``deploy/local/with-stack.sh`` or with the
stack up), prepares venues and people through the real services, then runs each rate for
8 seconds with the open-loop generator and prints p50/p90/p99/max per step.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from lindung_shared.auth import TokenIssuer
from lindung_shared.settings import ServiceSettings

from bench import ingest
from bench.suite import ROOT, Suite


def main() -> int:
    parser = argparse.ArgumentParser(prog="steps")
    parser.add_argument("--venues", type=int, default=1000)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("rates", nargs="+", type=int)
    args = parser.parse_args()
    suite = Suite(log_dir=ROOT / "bench" / "results" / "logs")
    try:
        suite.start_services()
        suite.wait_ready()
        settings = ServiceSettings()
        issuer = TokenIssuer.development(settings)
        binary = ingest.build_loadgen()
        venues, people, _ = asyncio.run(ingest.prepare(settings, issuer, args.venues, args.people))
        requests = ROOT / "bench" / "results" / "logs" / "steps.jsonl"
        ingest.write_requests(
            requests,
            f"{ingest.CHECKIN}/v1/checkins",
            issuer,
            people,
            venues,
            max(args.rates) * args.seconds,
        )
        for rate in args.rates:
            step = ingest.run_loadgen(binary, requests, rate, args.seconds)
            print(
                rate,
                {k: step[k] for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "errors")},
                flush=True,
            )
            time.sleep(1)
        Path(requests).unlink(missing_ok=True)
    finally:
        suite.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
