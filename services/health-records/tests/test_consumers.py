"""The worker against the real Kafka: feeds in (valid stored, malformed dead-lettered),
cases out, exposures in."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from lindung_health.consumers import EXPOSURE_TOPICS, FEED_TOPICS
from lindung_health.testing import bundle, condition, immunization, new_nik, observation
from lindung_health.worker import build
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.events import encode_envelope, make_event
from lindung_shared.events.catalogue import (
    ExposureDetected,
    ExposureRetracted,
    FhirResourceSubmitted,
)
from lindung_shared.kafka import create_producer
from lindung_shared.kafka.security import kafka_security
from lindung_shared.outbox import OutboxRelay
from lindung_shared.testing import start_at_the_end, unique
from lindung_shared.worker import WorkerContext
from sqlalchemy import text

DEADLINE = 30.0


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer._client.cluster.partitions_for_topic(topic) or set()


@contextlib.asynccontextmanager
async def tail(bootstrap: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A group-less reader positioned at the end of ``topic``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **kafka_security()
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await _partitions(consumer, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)
        yield consumer
    finally:
        await consumer.stop()


async def _find(consumer: AIOKafkaConsumer, predicate: Any, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        batch = await consumer.getmany(timeout_ms=500)
        for records in batch.values():
            for record in records:
                if predicate(record):
                    return record
    raise AssertionError("no matching message before the deadline")


@pytest.fixture(scope="module")
async def worker(settings) -> AsyncIterator[dict[str, Any]]:
    prefix = unique("hr-test")
    bootstrap = settings.kafka_bootstrap_servers
    await start_at_the_end(bootstrap, f"{prefix}.feeds", FEED_TOPICS)
    await start_at_the_end(bootstrap, f"{prefix}.exposures", EXPOSURE_TOPICS)
    engine = create_engine(settings, pool_size=3, max_overflow=2)
    producer = create_producer(bootstrap, client_id=prefix)
    await producer.start()
    ctx = WorkerContext(settings, engine, create_sessionmaker(engine), producer)
    tasks = [*build(ctx, settings, group_prefix=prefix)]
    relay = OutboxRelay(dsn=ctx.dsn, producer=producer, service="health-records-test")
    tasks.append(relay.run)
    running = [asyncio.create_task(t(ctx.stop)) for t in tasks]
    try:
        yield {"producer": producer, "prefix": prefix, "bootstrap": bootstrap}
    finally:
        ctx.stop.set()
        await asyncio.wait(running, timeout=15)
        await producer.stop()
        await engine.dispose()


async def _send(producer, event) -> None:  # type: ignore[no-untyped-def]
    from lindung_shared.events import spec_for

    await producer.send_and_wait(
        spec_for(event.type).topic,
        value=encode_envelope(event),
        key=event.key.encode(),
        headers=[
            ("event-type", event.type.encode()),
            ("event-version", str(event.version).encode()),
        ],
    )


async def _wait_for(predicate: Any, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = await predicate()
        if found:
            return found
        await asyncio.sleep(0.3)
    raise AssertionError("condition not met before the deadline")


async def test_feed_message_stored_and_malformed_one_dead_lettered(worker, sessionmaker) -> None:
    nik, _ = new_nik()
    good_id, bad_id = f"kafka-good-{uuid.uuid4()}", f"kafka-bad-{uuid.uuid4()}"
    good = immunization(nik, ident=good_id, when=datetime.now(UTC) - timedelta(days=10), dose=1)
    bad = immunization(nik, ident=bad_id, when=datetime.now(UTC) - timedelta(days=10), code="999")
    async with tail(worker["bootstrap"], "lindung.dead-letter") as dlq:
        for resource in (bad, good):
            await _send(
                worker["producer"],
                make_event(
                    "fhir.vaccination.submitted",
                    FhirResourceSubmitted(source="vaccination-registry", resource=resource),
                ),
            )

        async def stored() -> bool:
            async with sessionmaker() as session:
                keys = (
                    (
                        await session.execute(
                            text(
                                "SELECT source_key FROM health_records WHERE source_key LIKE '%kafka-%'"
                            )
                        )
                    )
                    .scalars()
                    .all()
                )
            return any(good_id in k for k in keys) and not any(bad_id in k for k in keys)

        assert await _wait_for(stored)
        group = f"{worker['prefix']}.feeds".encode()
        letter = await _find(dlq, lambda r: dict(r.headers).get("dlq-consumer-group") == group)
    headers = dict(letter.headers)
    assert headers["dlq-reason"] == b"fhir-rejected"
    assert b"unknown-vaccine-code" in headers["dlq-error"]
    assert headers["dlq-source-topic"] == b"lindung.feed.vaccinations"
    assert headers["event-type"] == b"fhir.vaccination.submitted"
    # Not the original: the record (NIK included) stays on its feed topic, at the offset named.
    assert bad_id.encode() not in letter.value and nik.encode() not in letter.value
    value = orjson.loads(letter.value)
    assert value["type"] == "fhir.vaccination.submitted"
    assert value["payload"] == {"source": "vaccination-registry", "resource": "<redacted>"}
    assert headers["dlq-source-offset"].isdigit()
    assert nik.encode() not in headers["dlq-error"]


async def test_positive_result_publishes_case_confirmed(
    worker, people, client, feed_headers
) -> None:
    person = await people.register()
    sampled = datetime.now(UTC) - timedelta(days=1)
    async with tail(worker["bootstrap"], "lindung.cases") as cases:
        await _send(
            worker["producer"],
            make_event(
                "fhir.lab_result.submitted",
                FhirResourceSubmitted(
                    source="laboratory",
                    resource=observation(person["nik"], ident=f"k-{uuid.uuid4()}", when=sampled),
                ),
            ),
        )
        record = await _find(cases, lambda r: r.key == person["person_id"].encode())
    envelope = orjson.loads(record.value)
    assert envelope["type"] == "case.confirmed"
    payload = envelope["payload"]
    assert payload["person_id"] == person["person_id"]
    assert payload["case_ref"].startswith("C-")
    assert datetime.fromisoformat(payload["sample_taken_at"]) == sampled
    assert datetime.fromisoformat(payload["infectious_until"]) == sampled + timedelta(days=10)
    assert (await people.status(person))["colour"] == "black"


async def test_suspected_case_over_kafka_flags_it_and_a_bad_condition_is_lettered_alone(
    worker, people, client
) -> None:
    person = await people.register()
    onset = datetime.now(UTC) - timedelta(hours=6)
    good = condition(person["nik"], ident=f"pdp-{uuid.uuid4()}", when=onset)
    bad = condition(person["nik"], ident=f"pdp-bad-{uuid.uuid4()}", when=onset)
    del bad["verificationStatus"]
    message = make_event(
        "fhir.lab_result.submitted",
        FhirResourceSubmitted(
            source="laboratory", resource=bundle(good, bad, bundle_type="collection")
        ),
    )
    async with (
        tail(worker["bootstrap"], "lindung.cases") as cases,
        tail(worker["bootstrap"], "lindung.dead-letter") as dlq,
    ):
        await _send(worker["producer"], message)
        record = await _find(cases, lambda r: r.key == person["person_id"].encode())
        letter = await _find(
            dlq,
            lambda r: (
                dict(r.headers).get("event-type") == b"fhir.entry.rejected"
                and str(message.id).encode() in r.value
            ),
        )
    envelope = orjson.loads(record.value)
    assert (envelope["type"], envelope["version"]) == ("suspect.flagged", 1)
    assert envelope["payload"]["suspect_ref"].startswith("S-")
    assert datetime.fromisoformat(envelope["payload"]["suspected_at"]) == onset
    rejected = orjson.loads(letter.value)["payload"]
    assert (rejected["entry_index"], rejected["reason"]) == (1, "no-verification-status")
    assert person["nik"] not in letter.value.decode()
    # Not a colour: a suspect with no records is red (unvaccinated), not black.
    assert (await people.status(person))["colour"] == "red"


async def test_exposure_turns_the_contact_black_and_retraction_lifts_it(worker, people) -> None:
    person = await people.register()
    pid = uuid.UUID(person["person_id"])
    exposure_id = uuid.uuid4()
    end = datetime.now(UTC) - timedelta(days=2)
    detected = ExposureDetected(
        exposure_id=exposure_id,
        case_ref="C-ABCDEFGH",
        contact_person_id=pid,
        venue_id=uuid.uuid4(),
        venue_name="Mall",
        venue_timezone="Asia/Jakarta",
        overlap_start=end - timedelta(minutes=30),
        overlap_end=end,
        overlap_minutes=30,
    )
    await _send(worker["producer"], make_event("exposure.detected", detected))

    async def black() -> dict | None:
        status = await people.status(person)
        return status if status["colour"] == "black" else None

    status = await _wait_for(black)
    assert status["reasons"] == ["quarantine"]
    assert datetime.fromisoformat(status["valid_until"]) == end + timedelta(days=14)
    await _send(
        worker["producer"],
        make_event(
            "exposure.retracted",
            ExposureRetracted(
                exposure_id=exposure_id,
                case_ref="C-ABCDEFGH",
                contact_person_id=pid,
                venue_id=detected.venue_id,
            ),
        ),
    )

    async def lifted() -> bool:
        return (await people.status(person))["colour"] == "red"

    assert await _wait_for(lifted)


async def test_a_bad_entry_of_a_batch_bundle_is_dead_lettered_alone(worker, sessionmaker) -> None:
    """Over Kafka, a batch/collection Bundle's good entries are applied and each bad entry is
    dead-lettered on its own (fhir.entry.rejected, with its reason); a transaction Bundle with
    a bad entry is dead-lettered whole and applies nothing."""
    nik, _ = new_nik()
    when = datetime.now(UTC) - timedelta(days=10)
    good_id, bad_id = f"kafka-good-{uuid.uuid4()}", f"kafka-bad-{uuid.uuid4()}"
    good = immunization(nik, ident=good_id, when=when, dose=1)
    bad = immunization(nik, ident=bad_id, when=when, code="999")
    tx_good_id = f"kafka-txgood-{uuid.uuid4()}"
    tx_good = immunization(nik, ident=tx_good_id, when=when, dose=1)
    async with tail(worker["bootstrap"], "lindung.dead-letter") as dlq:
        collection = make_event(
            "fhir.vaccination.submitted",
            FhirResourceSubmitted(
                source="vaccination-registry", resource=bundle(good, bad, bundle_type="collection")
            ),
        )
        await _send(worker["producer"], collection)
        transaction = make_event(
            "fhir.vaccination.submitted",
            FhirResourceSubmitted(
                source="vaccination-registry",
                resource=bundle(tx_good, bad, bundle_type="transaction"),
            ),
        )
        await _send(worker["producer"], transaction)
        entry_letter = await _find(dlq, lambda r: str(collection.id).encode() in r.value)
        group = f"{worker['prefix']}.feeds".encode()
        whole = await _find(dlq, lambda r: dict(r.headers).get("dlq-consumer-group") == group)

    rejected = orjson.loads(entry_letter.value)
    assert rejected["type"] == "fhir.entry.rejected"
    payload = rejected["payload"]
    assert (payload["entry_index"], payload["reason"]) == (1, "unknown-vaccine-code")
    assert payload["resource"]["identifier"][0]["value"] == bad_id
    assert nik.encode() not in entry_letter.value and nik.encode() not in whole.value
    assert orjson.loads(whole.value)["id"] == str(transaction.id)
    assert b"nothing applied" in dict(whole.headers)["dlq-error"]
    async with sessionmaker() as session:
        keys = set(
            (
                await session.execute(
                    text("SELECT source_key FROM health_records WHERE source_key LIKE '%kafka-%'")
                )
            )
            .scalars()
            .all()
        )
    assert any(good_id in k for k in keys)
    assert not any(bad_id in k or tx_good_id in k for k in keys)
