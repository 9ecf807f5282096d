"""The worker process: ``python -m lindung_health.worker``.

Runs the feed consumers (vaccinations and laboratory results), the exposure consumer, the
status sweeper (statuses whose time has come: isolation ends, a test expires, a rule takes
effect), the retention purges (``retention.purges``) and the outbox relay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from lindung_shared.kafka.consumer import EventConsumer
from lindung_shared.retention import run_purges
from lindung_shared.worker import Task, WorkerContext, periodic, run_worker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_health.consumers import (
    EXPOSURE_TOPICS,
    FEED_TOPICS,
    FeedConsumer,
    exposure_handlers,
)
from lindung_health.feeds import imports
from lindung_health.retention.purges import purges
from lindung_health.screening.service import sweep_due
from lindung_health.settings import Settings
from lindung_health.toolkit import Toolkit

log = logging.getLogger(__name__)


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], batch_size: int) -> int:
    """Recompute every due status, one committed batch at a time; safe to run in several
    workers at once (rows are claimed with SKIP LOCKED)."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            done = await sweep_due(session, datetime.now(UTC), batch_size)
        total += done
        if done < batch_size:
            break
    if total:
        log.info("statuses recomputed by the sweeper", extra={"count": total})
    return total


def build(
    ctx: WorkerContext, settings: Settings, *, group_prefix: str = "health-records"
) -> Sequence[Task]:
    toolkit = Toolkit.from_settings(settings)
    common = {
        "service": settings.service_name,
        "sessionmaker": ctx.sessionmaker,
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "dead_letters": ctx.producer,
    }
    feeds = FeedConsumer(
        toolkit=toolkit,
        group_id=f"{group_prefix}.feeds",
        topics=FEED_TOPICS,
        batch_size=settings.feed_batch_size,
        **common,
    )
    exposures = EventConsumer(
        group_id=f"{group_prefix}.exposures",
        topics=EXPOSURE_TOPICS,
        handlers=exposure_handlers(),
        **common,  # type: ignore[arg-type]
    )
    sweeper = periodic(
        "status-sweeper",
        settings.sweeper_interval_seconds,
        lambda: sweep(ctx.sessionmaker, settings.sweeper_batch_size),
    )

    async def retention_job() -> None:
        await run_purges(
            ctx.sessionmaker,
            settings.service_name,
            purges(settings, datetime.now(UTC)),
            batch_size=settings.retention_batch_size,
        )

    retention = periodic("retention", settings.retention_interval_seconds, retention_job)
    bulk = periodic(
        "feed-imports",
        settings.import_interval_seconds,
        lambda: imports.drain(ctx.sessionmaker, toolkit, lambda: datetime.now(UTC)),
    )
    return [feeds.run, exposures.run, sweeper, retention, bulk]


def main() -> None:
    settings = Settings()
    asyncio.run(
        run_worker(
            settings,
            lambda ctx: build(ctx, settings),
            metrics_port=settings.worker_metrics_port,
        )
    )


if __name__ == "__main__":
    main()
