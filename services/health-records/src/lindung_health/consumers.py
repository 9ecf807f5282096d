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
from lindung_shared.kafka.consumer import EventConsumer, Handler, PermanentEventError
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


def _whole_message_error(result: feeds.IngestResult) -> RejectedRecord | None:
    """A single resource that was rejected, or a transaction Bundle with a rejected entry, is
    dead-lettered whole (nothing of it applied)."""
    rejected = result.rejected
    if not rejected or not (result.failed_transaction or result.bundle_type is None):
        return None
    details = "; ".join(
        f"entry {o.index} ({o.resource_type or 'unknown'}): {o.reason}: {o.message}"
        for o in rejected
        if o.reason != "transaction-failed"
    )
    return RejectedRecord(
        f"{len(rejected)} of {len(result.outcomes)} record(s) rejected"
        + (", nothing applied (transaction)" if result.failed_transaction else "")
        + f": {details}"
    )


def _entry_letters(envelope: Envelope[Any], result: feeds.IngestResult) -> list[Envelope[Any]]:
    """Batch, collection, document: each bad entry dead-lettered alone (its siblings are
    applied), staged in the outbox of the same transaction."""
    payload: FhirResourceSubmitted = envelope.payload
    entries = feeds.entries_of(payload.resource)
    return [
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
        for o in result.rejected
    ]


def feed_handlers(toolkit: Toolkit) -> Mapping[str, Handler]:
    """One message at a time (the runner's path when a batch has to be taken apart)."""

    async def handle(session: AsyncSession, envelope: Envelope[Any]) -> None:
        payload: FhirResourceSubmitted = envelope.payload
        result = await feeds.ingest_submission(
            session, toolkit, payload.resource, payload.source, datetime.now(UTC)
        )
        error = _whole_message_error(result)
        if error is not None:
            # Raising rolls the message's savepoint back: nothing of it stays.
            raise error
        await outbox.add_events(session, _entry_letters(envelope, result))

    return {"fhir.vaccination.submitted": handle, "fhir.lab_result.submitted": handle}


class FeedConsumer(EventConsumer):
    """The feed topics, a polled batch of messages applied as ONE batch of records
    (:func:`feeds.ingest_many`: set-based SQL, every affected person recomputed once, events
    to the outbox in the same transaction). If a message of the batch is to be dead-lettered
    whole, the batch is rolled back and the runner takes it apart message by message
    (:func:`feed_handlers`), which dead-letters that one."""

    def __init__(self, *, toolkit: Toolkit, **kwargs: Any) -> None:
        super().__init__(handlers=feed_handlers(toolkit), **kwargs)
        self.toolkit = toolkit

    async def handle_batch(self, session: AsyncSession, events: list[Envelope[Any]]) -> None:
        results = await feeds.ingest_many(
            session,
            self.toolkit,
            [(e.payload.resource, e.payload.source) for e in events],
            datetime.now(UTC),
        )
        letters: list[Envelope[Any]] = []
        for envelope, result in zip(events, results, strict=True):
            error = _whole_message_error(result)
            if error is not None:
                raise error
            letters += _entry_letters(envelope, result)
        await outbox.add_events(session, letters)


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
