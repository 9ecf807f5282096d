"""The check-in worker process: ``python -m lindung_checkin.worker``.

Consumers (venues and QR codes, keys, statuses, zones, and the exposure matcher's cases), the
outbox relay, and periodic jobs: the automatic check-out sweeper, offline visits held for a
venue not known yet, coalesced occupancy and crowding events, daily partitions (created ahead,
dropped after the retention), the exposure ledger's purge (``retention.ledger``), and the
re-matching of late visits against known cases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from lindung_shared import ratelimit
from lindung_shared.retention import run_purges
from lindung_shared.worker import Task, WorkerContext, periodic, run_worker

from lindung_checkin.checkins.pending import replay_pending, verify_held
from lindung_checkin.checkins.sweeper import sweep
from lindung_checkin.consumers import build_consumers
from lindung_checkin.exposure.consumer import build_exposure_tasks
from lindung_checkin.occupancy.publisher import publish_once
from lindung_checkin.retention.ledger import ledger_purge, suspect_ledger_purge
from lindung_checkin.retention.partitions import maintain
from lindung_checkin.settings import Settings


def build(ctx: WorkerContext) -> Sequence[Task]:
    settings = ctx.settings if isinstance(ctx.settings, Settings) else Settings()

    async def sweep_job() -> None:
        await sweep(ctx.sessionmaker, datetime.now(UTC), settings.sweep_batch_size)

    async def pending_job() -> None:
        limit, max_age = settings.sweep_batch_size, timedelta(days=settings.lookback_days)
        await verify_held(
            ctx.sessionmaker, limit=limit, max_age=timedelta(hours=settings.unverified_hold_hours)
        )
        await replay_pending(ctx.sessionmaker, limit=limit, max_age=max_age)

    async def occupancy_job() -> None:
        async with ctx.sessionmaker() as session, session.begin():
            await publish_once(session, settings.crowding_thresholds)

    async def partitions_job() -> None:
        await maintain(ctx.dsn, settings.retention_days, settings.partitions_ahead_days)

    async def rate_limit_job() -> None:
        # Scans count their rate-limit hits inside the scan statement (migration 0010), which
        # does not sweep the ended windows as the shared limiter's hits do: this does.
        async with ctx.sessionmaker() as session, session.begin():
            await session.execute(ratelimit.SWEEP)

    async def ledger_job() -> None:
        now = datetime.now(UTC)
        purges = [
            ledger_purge(now, settings.retention_days),
            suspect_ledger_purge(now, settings.retention_days),
        ]
        await run_purges(ctx.sessionmaker, settings.service_name, purges)

    tasks: list[Task] = [
        c.run for c in build_consumers(ctx, settings, group_prefix=settings.consumer_group_prefix)
    ]
    tasks += [
        periodic("auto-checkout", settings.sweep_interval_seconds, sweep_job),
        periodic("pending-offline", settings.sweep_interval_seconds, pending_job),
        periodic("occupancy", settings.occupancy_publish_interval_seconds, occupancy_job),
        periodic("partitions", settings.partition_job_interval_seconds, partitions_job),
        periodic("rate-limit-counters", settings.sweep_interval_seconds, rate_limit_job),
        periodic("exposure-ledger", settings.partition_job_interval_seconds, ledger_job),
    ]
    tasks += build_exposure_tasks(ctx)
    return tasks


def main() -> None:
    settings = Settings()
    asyncio.run(run_worker(settings, build, metrics_port=settings.worker_metrics_port))


if __name__ == "__main__":
    main()
