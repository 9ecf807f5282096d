"""The matcher's consumer in the check-in worker: ``lindung.cases`` → exposures (cases) and
advisories (suspected cases, :mod:`.suspects`).

Group ``checkin.exposure-matcher``. Run as many worker replicas as ``lindung.cases`` has
partitions: the runner claims event ids, and the ledger's (case, contact) key keeps the result
exactly-once even when two instances handle the same case at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from lindung_shared.events import Envelope
from lindung_shared.events.catalogue import (
    CaseConfirmed,
    CaseRetracted,
    SuspectFlagged,
    SuspectRuledOut,
)
from lindung_shared.kafka.consumer import EventConsumer, Handler
from lindung_shared.worker import Task, WorkerContext, periodic
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_checkin.exposure import rematch, repository, service, suspects
from lindung_checkin.exposure.settings import ExposureSettings

CASES_TOPIC = "lindung.cases"


def handlers(settings: ExposureSettings) -> dict[str, Handler]:
    async def on_case_confirmed(session: AsyncSession, event: Envelope[Any]) -> None:
        payload: CaseConfirmed = event.payload
        await service.match_case(session, payload, settings)

    async def on_case_retracted(session: AsyncSession, event: Envelope[Any]) -> None:
        payload: CaseRetracted = event.payload
        await service.retract_case(session, payload, settings)

    async def on_suspect_flagged(session: AsyncSession, event: Envelope[Any]) -> None:
        payload: SuspectFlagged = event.payload
        await suspects.advise(session, payload, settings)

    async def on_suspect_ruled_out(session: AsyncSession, event: Envelope[Any]) -> None:
        payload: SuspectRuledOut = event.payload
        await suspects.rule_out(session, payload, settings)

    return {
        "case.confirmed": on_case_confirmed,
        "case.retracted": on_case_retracted,
        "suspect.flagged": on_suspect_flagged,
        "suspect.ruled_out": on_suspect_ruled_out,
    }


def exposure_consumer(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    bootstrap_servers: str,
    dead_letters: AIOKafkaProducer,
    settings: ExposureSettings | None = None,
    service_name: str = "checkin",
) -> EventConsumer:
    """The ``EventConsumer`` of ``lindung.cases`` for the matcher."""
    settings = settings or ExposureSettings()
    return EventConsumer(
        service=service_name,
        group_id=settings.consumer_group,
        topics=[settings.topic_prefix + CASES_TOPIC],
        handlers=handlers(settings),
        sessionmaker=sessionmaker,
        bootstrap_servers=bootstrap_servers,
        dead_letters=dead_letters,
        batch_size=settings.batch_size,
    )


def build_exposure_tasks(ctx: WorkerContext) -> list[Task]:
    """The worker tasks of exposure matching: the consumer, the re-matching of late visits
    and the ledger purge."""
    settings = ExposureSettings()
    consumer = exposure_consumer(
        sessionmaker=ctx.sessionmaker,
        bootstrap_servers=ctx.settings.kafka_bootstrap_servers,
        dead_letters=ctx.producer,
        settings=settings,
        service_name=ctx.settings.service_name,
    )

    async def purge() -> None:
        async with ctx.sessionmaker() as session, session.begin():
            await repository.purge_ledger(session, timedelta(days=settings.ledger_retention_days))

    async def late_visits() -> None:
        await rematch.rematch(ctx.sessionmaker, settings, limit=settings.rematch_batch_size)

    return [
        consumer.run,
        periodic("exposure-late-visits", settings.rematch_interval_seconds, late_visits),
        periodic("exposure-ledger-purge", 3600.0, purge),
    ]
