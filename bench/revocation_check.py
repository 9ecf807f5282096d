"""What the token revocation check costs per request: ``TokenVerifier.verify`` on a cached
token (the check-in hot path: a person's token is verified once per process, then cached)
with no revocation list, and with a list of ``--revoked`` people (the subject not in it, the
common case, and in it with a current generation).

    python bench/revocation_check.py                      # CPU time, interleaved rounds
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python bench/revocation_check.py --calls 20000 --mode with   # instruction counts

Prints CPU nanoseconds per call (process CPU time, which other processes' load barely moves).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime

from lindung_shared.auth import TokenIssuer, TokenVerifier
from lindung_shared.events.catalogue import RevocationReason, TokensRevoked
from lindung_shared.revocation import RevocationList
from lindung_shared.settings import ServiceSettings


def revocation_list(size: int, also: str | None = None) -> RevocationList:
    revocations = RevocationList()
    at = datetime.now(UTC)
    for _ in range(size):
        revocations.apply(
            TokensRevoked(
                person_id=uuid.uuid4(),
                generation=1,
                reason=RevocationReason.RECOVERY,
                revoked_at=at,
            )
        )
    if also is not None:
        revocations.apply(
            TokensRevoked(
                person_id=uuid.UUID(also),
                generation=1,
                reason=RevocationReason.RECOVERY,
                revoked_at=at,
            )
        )
    return revocations


async def per_call_ns(verifier: TokenVerifier, token: str, calls: int) -> float:
    await verifier.verify(token)  # the first call checks the signature and caches
    started = time.process_time_ns()
    for _ in range(calls):
        await verifier.verify(token)
    return (time.process_time_ns() - started) / calls


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--revoked", type=int, default=100_000)
    parser.add_argument("--mode", choices=["both", "with", "without"], default="both")
    args = parser.parse_args()
    settings = ServiceSettings(LINDUNG_ENV="test")
    subject = str(uuid.uuid4())
    issuer = TokenIssuer.development(settings)
    token = issuer.issue(subject=subject, roles=["citizen"], generation=1, ttl_seconds=3600)
    without = TokenVerifier(settings)
    await without.load()
    absent = TokenVerifier(settings, revocation_list(args.revoked))
    await absent.load()
    present = TokenVerifier(settings, revocation_list(args.revoked, also=subject))
    await present.load()
    if args.mode != "both":
        verifier = present if args.mode == "with" else without
        print(f"{args.mode}: {await per_call_ns(verifier, token, args.calls):.0f} ns per call")
        return
    results: dict[str, list[float]] = {"no check": [], "check, not listed": [], "check, listed": []}
    for _ in range(args.rounds):
        results["no check"].append(await per_call_ns(without, token, args.calls))
        results["check, not listed"].append(await per_call_ns(absent, token, args.calls))
        results["check, listed"].append(await per_call_ns(present, token, args.calls))
    for name, values in results.items():
        print(
            f"{name:>18}: median {statistics.median(values):6.0f} ns per verify "
            f"(min {min(values):.0f}, max {max(values):.0f}; {args.rounds} rounds x {args.calls})"
        )


if __name__ == "__main__":
    asyncio.run(main())
