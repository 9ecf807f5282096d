"""The registry's worker process: ``python -m lindung_venues.worker``.

The registry consumes no events; its worker publishes the outbox (venue, QR code, key and
zone events) to Kafka.
"""

from __future__ import annotations

import asyncio

from lindung_shared.worker import run_worker

from lindung_venues.settings import Settings


def main() -> None:
    settings = Settings()
    asyncio.run(run_worker(settings, lambda ctx: [], metrics_port=settings.worker_metrics_port))


if __name__ == "__main__":
    main()
