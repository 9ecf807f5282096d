"""Kafka consumers: thin adapters that decode and call the same services as the API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lindung_shared.events import Envelope
from lindung_shared.events.catalogue import (
    ExposureDetected,
    ExposureRetracted,
    FhirResourceSubmitted,
)
from lindung_shared.kafka.consumer import Handler, PermanentEventError
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.exposures import service as exposures
from lindung_health.feeds import service as feeds
from lindung_health.toolkit import Toolkit

FEED_TOPICS = ("lindung.feed.vaccinations", "lindung.feed.lab-results")
EXPOSURE_TOPICS = ("lindung.exposures",)


class RejectedRecord(PermanentEventError):
    """A feed record that failed validation: dead-lettered with the reasons."""

    reason = "fhir-rejected"


def feed_handlers(toolkit: Toolkit) -> Mapping[str, Handler]:
    async def handle(session: AsyncSession, envelope: Envelope[Any]) -> None:
        payload: FhirResourceSubmitted = envelope.payload
        outcomes = await feeds.ingest(
            session, toolkit, payload.resource, payload.source, datetime.now(UTC)
        )
        rejected = [o for o in outcomes if o.result == "rejected"]
        if rejected:
            # All or nothing per message: raising rolls the message's savepoint back, so a
            # Bundle with one bad entry is stored not at all and dead-lettered whole.
            details = "; ".join(
                f"entry {o.index} ({o.resource_type or 'unknown'}): {o.reason}: {o.message}"
                for o in rejected
            )
            raise RejectedRecord(
                f"{len(rejected)} of {len(outcomes)} record(s) rejected: {details}"
            )

    return {"fhir.vaccination.submitted": handle, "fhir.lab_result.submitted": handle}


def exposure_handlers() -> Mapping[str, Handler]:
    async def detected(session: AsyncSession, envelope: Envelope[Any]) -> None:
        payload: ExposureDetected = envelope.payload
        await exposures.exposure_detected(session, payload, datetime.now(UTC))

    async def retracted(session: AsyncSession, envelope: Envelope[Any]) -> None:
        payload: ExposureRetracted = envelope.payload
        await exposures.exposure_retracted(session, payload, datetime.now(UTC))

    return {"exposure.detected": detected, "exposure.retracted": retracted}
