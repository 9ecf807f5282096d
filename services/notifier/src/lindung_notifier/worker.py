"""The notifier's worker process: the event consumer, the delivery loop and the retention
purges (``retention.purges``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import aiohttp
from lindung_shared.retention import run_purges
from lindung_shared.worker import Task, WorkerContext, periodic, run_worker

from lindung_notifier.consumers import build_consumer
from lindung_notifier.delivery.channels import Channel, PushChannel, SmsChannel
from lindung_notifier.delivery.worker import DeliveryWorker
from lindung_notifier.retention.purges import purges
from lindung_notifier.settings import Settings


def gateway_session(settings: Settings) -> aiohttp.ClientSession:
    """The gateways' HTTP client: ``delivery_concurrency`` kept-alive connections, no cookies
    kept (a gateway's cookies mean nothing to the next call). Made inside the event loop."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.delivery_concurrency),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def make_channels(settings: Settings, client: aiohttp.ClientSession) -> list[Channel]:
    timeout = settings.gateway_timeout_seconds
    return [
        PushChannel(client, settings.push_gateway_url, settings.push_gateway_token, timeout),
        SmsChannel(client, settings.sms_gateway_url, settings.sms_gateway_token, timeout),
    ]


def build(settings: Settings) -> Callable[[WorkerContext], Sequence[Task]]:
    def tasks(ctx: WorkerContext) -> Sequence[Task]:
        client = gateway_session(settings)
        delivery = DeliveryWorker(settings, ctx.sessionmaker, make_channels(settings, client))
        consumer = build_consumer(
            settings, sessionmaker=ctx.sessionmaker, dead_letters=ctx.producer
        )

        async def close_client(stop: asyncio.Event) -> None:
            await stop.wait()
            await client.close()

        async def retention_job() -> None:
            await run_purges(
                ctx.sessionmaker,
                settings.service_name,
                purges(settings, datetime.now(UTC)),
                batch_size=settings.retention_batch_size,
            )

        return [
            consumer.run,
            periodic("deliveries", settings.delivery_interval_seconds, delivery.drain),
            periodic("retention", settings.retention_interval_seconds, retention_job),
            close_client,
        ]

    return tasks


def main() -> None:
    settings = Settings()
    asyncio.run(
        run_worker(
            settings,
            build(settings),
            relay=False,  # the notifier publishes no events
            metrics_port=settings.worker_metrics_port,
        )
    )


if __name__ == "__main__":
    main()
