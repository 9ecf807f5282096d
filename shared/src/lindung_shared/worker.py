"""The worker process of a service: its consumers, its outbox relay and its periodic jobs.

``python -m lindung_<service>.worker`` builds a :class:`Worker` and calls :func:`run_worker`.
SIGTERM/SIGINT set the stop event: every task finishes what it holds (a consumer commits its
batch, the relay its publish) and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from prometheus_client import start_http_server
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.kafka import create_producer
from lindung_shared.logging import configure_logging
from lindung_shared.outbox import OutboxRelay
from lindung_shared.settings import ServiceSettings, settings_summary
from lindung_shared.transient import OutageLog

log = logging.getLogger(__name__)

Task = Callable[[asyncio.Event], Awaitable[None]]


@dataclass
class WorkerContext:
    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    producer: AIOKafkaProducer
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def dsn(self) -> str:
        return self.settings.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def freeze_startup_heap() -> None:
    """Put what a worker starts with (modules, settings, clients, catalogues: hundreds of
    thousands of objects) out of the cycle collector's reach: ``gc.freeze()`` after one last
    collection. Without it every full collection walks that whole heap again; in the notifier's
    fan-out (services/notifier/bench/fanout_bench.py) collections took 0.36-0.38 s of 0.98-1.09
    s of worker CPU for 10,000 notifications, 0.08 s with it. Objects made later are collected
    as usual."""
    gc.collect()
    gc.freeze()


def periodic(name: str, interval_seconds: float, job: Callable[[], Awaitable[object]]) -> Task:
    """Run ``job`` every ``interval_seconds`` (with jitter) until stopped; errors are logged
    and the next run goes ahead. A transient failure (the database restarting, say) is one
    warning when it starts, one a minute while it lasts and a line when the job recovers
    (:class:`~lindung_shared.transient.OutageLog`); anything else logs its traceback."""

    async def run(stop: asyncio.Event) -> None:
        outage = OutageLog(log, f"periodic job {name}")
        while not stop.is_set():
            try:
                await job()
            except Exception as exc:
                outage.failed(exc)
            else:
                outage.succeeded()
            delay = interval_seconds * random.uniform(0.8, 1.2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    return run


async def run_worker(
    settings: ServiceSettings,
    build: Callable[[WorkerContext], Sequence[Task]],
    *,
    relay: bool = True,
    metrics_port: int | None = None,
) -> None:
    configure_logging(settings.service_name, settings.log_level)
    if metrics_port:
        start_http_server(metrics_port, addr=settings.http_host)
    engine = create_engine(settings)
    producer = create_producer(
        settings.kafka_bootstrap_servers, client_id=f"{settings.service_name}-worker"
    )
    ctx = WorkerContext(settings, engine, create_sessionmaker(engine), producer)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, ctx.stop.set)
    while not ctx.stop.is_set():
        try:
            await producer.start()
            break
        except Exception as exc:
            log.warning("kafka not reachable yet (%s); retrying", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ctx.stop.wait(), timeout=2)
    tasks: list[Task] = list(build(ctx))
    if relay:
        # The relay owns its producer, so that it can replace it after a fatal error
        # without touching the one the consumers dead-letter with.
        relay_task = OutboxRelay(
            dsn=ctx.dsn,
            service=settings.service_name,
            producer_factory=lambda: create_producer(
                settings.kafka_bootstrap_servers, client_id=f"{settings.service_name}-relay"
            ),
        )
        tasks.append(relay_task.run)
    freeze_startup_heap()
    log.info("worker started", extra=settings_summary(settings))
    try:
        await asyncio.gather(*(task(ctx.stop) for task in tasks))
    finally:
        ctx.stop.set()
        with contextlib.suppress(Exception):
            await producer.stop()
        await engine.dispose()
        log.info("worker stopped")
