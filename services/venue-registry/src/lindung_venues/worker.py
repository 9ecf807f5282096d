"""The registry's worker process: ``python -m lindung_venues.worker``.

The registry consumes no events. Its worker publishes the outbox (venue, QR code, key and
zone events) to Kafka, and once a day announces the trusted QR keys again, so that a key
older than the ``lindung.qr-keys`` retention (a year) is still on the topic for a consumer
that starts from the beginning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from lindung_shared.worker import Task, WorkerContext, periodic, run_worker

from lindung_venues.qr_keys import service as qr_keys
from lindung_venues.settings import Settings

REPUBLISH_KEYS_EVERY_SECONDS = 24 * 3600


def build(ctx: WorkerContext) -> Sequence[Task]:
    async def republish_keys() -> None:
        async with ctx.sessionmaker() as session, session.begin():
            await qr_keys.republish(session)

    return [periodic("republish-qr-keys", REPUBLISH_KEYS_EVERY_SECONDS, republish_keys)]


def main() -> None:
    settings = Settings()
    asyncio.run(run_worker(settings, build, metrics_port=settings.worker_metrics_port))


if __name__ == "__main__":
    main()
