"""Kafka consumers: thin adapters that decode and call the same services as the API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lindung_shared import outbox
from lindung_shared.events import Envelope, make_event
from lindung_shared.events.catalogue import (
    ExposureDetected,
    ExposureRetracted,
    FhirEntryRejected,
    FhirResourceSubmitted,
)
from lindung_shared.kafka.consumer import Handler, PermanentEventError
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.exposures import service as exposures
from lindung_health.feeds import service as feeds
from lindung_health.feeds.deidentify import deidentify
from lindung_health.toolkit import Toolkit

FEED_TOPICS = ("lindung.feed.vaccinations", "lindung.feed.lab-results")
EXPOSURE_TOPICS = ("lindung.exposures",)


class RejectedRecord(PermanentEventError):
    """A feed record that failed validation: dead-lettered with the reasons."""

    reason = "fhir-rejected"


def feed_handlers(toolkit: Toolkit) -> Mapping[str, Handler]:
    async def handle(session: AsyncSession, envelope: Envelope[Any]) -> None:
        payload: FhirResourceSubmitted = envelope.payload
        result = await feeds.ingest_submission(
            session, toolkit, payload.resource, payload.source, datetime.now(UTC)
        )
        rejected = result.rejected
        if not rejected:
            return
        if result.failed_transaction or result.bundle_type is None:
            # A single resource, or a transaction Bundle (all or nothing): raising rolls the
            # message's savepoint back and the message is dead-lettered whole.
            details = "; ".join(
                f"entry {o.index} ({o.resource_type or 'unknown'}): {o.reason}: {o.message}"
                for o in rejected
                if o.reason != "transaction-failed"
            )
            raise RejectedRecord(
                f"{len(rejected)} of {len(result.outcomes)} record(s) rejected"
                + (", nothing applied (transaction)" if result.failed_transaction else "")
                + f": {details}"
            )
        # Batch, collection, document: the good entries are applied (in this transaction) and
        # each bad one is dead-lettered alone, through the outbox of the same transaction.
        entries = feeds.entries_of(payload.resource)
        await outbox.add_events(
            session,
            [
                make_event(
                    "fhir.entry.rejected",
                    FhirEntryRejected(
                        source=payload.source,
                        source_event_id=envelope.id,
                        entry_index=o.index,
                        resource_type=o.resource_type,
                        reason=o.reason or "rejected",
                        message=o.message or "",
                        # De-identified: the dead-letter topic is read by operators.
                        resource=_deidentified(entries, o.index),
                    ),
                )
                for o in rejected
            ],
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


def _deidentified(entries: list[dict[str, Any] | None], index: int) -> dict[str, Any] | None:
    entry = entries[index] if index < len(entries) else None
    return deidentify(entry) if entry is not None else None
