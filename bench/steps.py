"""Repeated fixed-rate steps against the check-in API, to see warm-up and steady state.

    python -m bench.steps [--venues 1000] [--people 20000] [--profile FILE] 500 500 1000

With ``--profile FILE``, py-spy samples the check-in API process through all the steps
(``FILE``: collapsed stacks, for a flame graph) and the busiest functions are printed, by
their own time and with what they call (share of the samples in which the API was on CPU).

Starts the suite like ``make bench`` (run it under ``deploy/local/with-stack.sh`` or with the
stack up), prepares venues and people through the real services, then runs each rate for
8 seconds with the open-loop generator and prints p50/p90/p99/max per step.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections import Counter
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
    parser.add_argument("--profile", type=Path, default=None)
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
        ingest.run_loadgen(binary, requests, 500, 3)  # warm-up: tokens seen, pools filled
        spy = None
        if args.profile:
            api = next(p for p in suite.processes if p.name == "checkin-api")
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    *("record", "--nonblocking", "--format", "raw", "--rate", "200"),
                    *("--output", str(args.profile), "--pid", str(api.popen.pid)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
        for rate in args.rates:
            step = ingest.run_loadgen(binary, requests, rate, args.seconds)
            print(
                rate,
                {
                    k: step[k]
                    for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "errors", "statuses")
                },
                flush=True,
            )
            time.sleep(1)
        Path(requests).unlink(missing_ok=True)
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes what it has
            spy.wait(30)
            summarise(args.profile)
    finally:
        suite.stop()
    return 0


def summarise(path: Path, top: int = 25) -> None:
    """The functions most often on CPU: by their own samples and with their callees."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")[1:]  # the first is the process / thread
        samples += n
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"profile: {samples} samples on CPU ({path})")
    for title, counter in (("own time", own), ("with callees", total)):
        print(f"  by {title}:")
        for frame, n in counter.most_common(top):
            print(f"    {100 * n / max(1, samples):5.1f}%  {frame}")


if __name__ == "__main__":
    raise SystemExit(main())
