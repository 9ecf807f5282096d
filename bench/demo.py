"""``make demo``: the whole Lindung story, narrated, against the running suite (`make run`).

A mall and a café register and print signed posters; people register and their vaccinations
arrive from the national feed; they check in (one refused for being unvaccinated, one refused
at capacity); a laboratory reports one of them positive; the close contacts are notified and
turn black, the venue's manager is alerted; a negative test later clears one of them.
Every step is a real call to the services' APIs; the services talk to each other over Kafka.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import httpx
from lindung_shared.auth import TokenIssuer
from lindung_shared.settings import ServiceSettings

from tests.e2e.story import Story, Urls

BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def narrate(line: str) -> None:
    if line.startswith("  "):
        print(f"{DIM}{line}{RESET}", flush=True)
    else:
        print(f"\n{BOLD}{line}{RESET}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    urls = Urls(*(f"http://{args.host}:{port}" for port in (8001, 8002, 8003, 8004)))
    for url in (urls.registry, urls.checkin, urls.health, urls.notifier):
        try:
            httpx.get(f"{url}/readyz", timeout=3).raise_for_status()
        except httpx.HTTPError:
            print(f"{url} is not ready: start the suite first with `make run`", file=sys.stderr)
            return 2
    started = time.monotonic()
    story = Story(TokenIssuer.development(ServiceSettings()), urls=urls, narrate=narrate)
    results = asyncio.run(story.run())
    print(
        f"\n{BOLD}Done in {time.monotonic() - started:.0f} s.{RESET} From the laboratory's "
        f"positive result to every close contact black: {results['seconds_to_black']} s."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
