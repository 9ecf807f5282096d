"""Kafka with SASL/SCRAM and ACLs: a private broker (the jars and server.properties of the
local stack, tests/faults/kafka_cluster.py) that authenticates every client and authorises by
the plan of ``lindung_shared.kafka.acls``, applied by the same code ``lindung bootstrap`` runs.
Each service connects as its own principal through ``lindung_shared.kafka.kafka_security``
(the environment): only venue-registry may publish a QR signing key; a service reads only the
topics it consumes, in its own consumer groups; a wrong password, or a principal without
rules, gets nothing; applying the plan removes a wider rule left from before."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from lindung_shared.events import TOPICS
from lindung_shared.kafka import create_producer, ensure_topics
from lindung_shared.kafka.acls import (
    READS,
    REVOCATIONS_TOPIC,
    SERVICES,
    AclBinding,
    acl_plan,
    apply_acls,
    readers_of,
    writers_of,
)
from lindung_shared.kafka.security import kafka_security

from tests.faults.kafka_cluster import MECHANISM, KafkaCluster

pytestmark = pytest.mark.timeout(420)

#: A principal with SCRAM credentials and no rules at all.
INTRUDER = ("intruder", f"intruder-{uuid.uuid4().hex[:12]}")
PASSWORDS: dict[str, str] = {}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cluster = KafkaCluster(
        tmp_path_factory.mktemp("kafka-sasl"), size=1, extra_principals=dict([INTRUDER])
    )
    PASSWORDS.update(cluster.passwords)
    cluster.start()
    try:
        cluster.wait_ready(timeout=240)
        yield cluster.bootstrap
    finally:
        cluster.stop()


@contextlib.contextmanager
def principal(name: str, password: str | None = None) -> Iterator[None]:
    """This process's Kafka clients connect as ``name`` (what a service's environment says)."""
    wanted = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": name,
        "KAFKA_SASL_PASSWORD": password or PASSWORDS[name],
    }
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    kafka_security.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        kafka_security.cache_clear()


async def _until_up(bootstrap: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_security())
        try:
            await admin.start()
            await admin.close()
            return
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)


async def _publish(bootstrap: str, topic: str) -> str:
    """ "written", or the name of the error that refused it."""
    producer = create_producer(bootstrap, client_id="acl-test")
    try:
        await asyncio.wait_for(producer.start(), 60)
        await asyncio.wait_for(producer.send_and_wait(topic, b"{}", key=b"k"), 60)
        return "written"
    except (KafkaError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()


async def _read_one(bootstrap: str, topic: str, group: str) -> str:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **kafka_security(),
    )
    try:
        await asyncio.wait_for(consumer.start(), 60)
        batch = await consumer.getmany(timeout_ms=20_000, max_records=1)
        return "read" if any(batch.values()) else "nothing"
    except (KafkaError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


def _consumed_topics() -> dict[str, set[str]]:
    """The topics each service's consumers subscribe to, from the services' own code."""
    from lindung_checkin.consumers import build_consumers
    from lindung_checkin.exposure.consumer import exposure_consumer
    from lindung_checkin.settings import Settings as CheckinSettings
    from lindung_health.consumers import EXPOSURE_TOPICS, FEED_TOPICS
    from lindung_notifier.consumers import TOPICS as NOTIFIER_TOPICS

    ctx: Any = SimpleNamespace(sessionmaker=None, producer=None)
    checkin = {topic for c in build_consumers(ctx, CheckinSettings()) for topic in c.topics} | set(
        exposure_consumer(sessionmaker=ctx, bootstrap_servers="", dead_letters=ctx).topics
    )
    return {
        # The registry's worker consumes nothing (it publishes its outbox).
        "venue-registry": set(),
        "checkin": checkin,
        "health-records": {*FEED_TOPICS, *EXPOSURE_TOPICS},
        "notifier": set(NOTIFIER_TOPICS),
    }


def test_each_service_may_read_what_its_consumers_read_and_nothing_else() -> None:
    consumed = _consumed_topics()
    assert {s: set(READS[s]) for s in SERVICES} == consumed
    plan = acl_plan()
    for service in SERVICES:
        readable = {
            b.name
            for b in plan
            if b.principal == f"User:{service}" and b.resource == "topic" and b.operation == "READ"
        }
        assert readable == consumed[service] | {REVOCATIONS_TOPIC}, service
    assert readers_of("lindung.qr-keys", plan) == {"User:checkin"}
    assert readers_of("lindung.feed.lab-results", plan) == {"User:health-records"}
    assert readers_of("lindung.people", plan) == {"User:notifier"}
    assert readers_of("lindung.dead-letter", plan) == set()  # operators: the admin


def test_the_plan_lets_only_venue_registry_write_qr_keys() -> None:
    plan = acl_plan()
    assert writers_of("lindung.qr-keys", plan) == {"User:venue-registry"}
    assert writers_of("lindung.token-revocations", plan) == {"User:health-records"}
    # Only consumers write dead letters; every topic is in the catalogue.
    assert writers_of("lindung.dead-letter", plan) == {
        "User:checkin",
        "User:health-records",
        "User:notifier",
    }
    assert {b.name for b in plan if b.resource == "topic"} <= set(TOPICS)


def test_each_service_its_own_principal_reading_and_writing_only_its_topics(
    broker: str,
) -> None:
    async def scenario() -> dict[str, str]:
        seen: dict[str, str] = {}
        with principal("admin"):
            await _until_up(broker)
            await ensure_topics(broker)
            # A wider rule from an earlier plan: applying the plan takes it away again.
            wider = AclBinding(
                "User:checkin", "topic", "lindung.feed.lab-results", "literal", "READ"
            )
            await apply_acls(broker, [*acl_plan(), wider])
            assert await apply_acls(broker) == len(acl_plan())
            assert await _publish(broker, "lindung.feed.lab-results") == "written"
            assert await _publish(broker, "lindung.people") == "written"
        for name in SERVICES:
            with principal(name):
                seen[f"{name} writes qr-keys"] = await _publish(broker, "lindung.qr-keys")
        with principal(INTRUDER[0], INTRUDER[1]):
            seen["intruder writes qr-keys"] = await _publish(broker, "lindung.qr-keys")
            seen["intruder reads qr-keys"] = await _read_one(
                broker, "lindung.qr-keys", "intruder.qr-keys"
            )
        with principal("checkin", password="not-the-password"):
            seen["wrong password writes"] = await _publish(broker, "lindung.qr-keys")
        with principal("checkin"):
            seen["checkin writes occupancy"] = await _publish(broker, "lindung.occupancy")
            seen["checkin reads qr-keys"] = await _read_one(
                broker, "lindung.qr-keys", "checkin.qr-keys"
            )
            seen["checkin reads in notifier's group"] = await _read_one(
                broker, "lindung.qr-keys", "notifier"
            )
            seen["checkin reads lab results"] = await _read_one(
                broker, "lindung.feed.lab-results", "checkin.lab-results"
            )
            seen["checkin reads people"] = await _read_one(
                broker, "lindung.people", "checkin.people"
            )
        with principal("notifier"):
            seen["notifier reads people"] = await _read_one(broker, "lindung.people", "notifier")
            seen["notifier reads qr-keys"] = await _read_one(broker, "lindung.qr-keys", "notifier")
        with principal("health-records"):
            seen["health-records reads lab results"] = await _read_one(
                broker, "lindung.feed.lab-results", "health-records.feeds-test"
            )
            seen["health-records reads qr-keys"] = await _read_one(
                broker, "lindung.qr-keys", "health-records.qr-keys"
            )
        with principal("venue-registry"):
            seen["venue-registry reads people"] = await _read_one(
                broker, "lindung.people", "venue-registry.people"
            )
        return seen

    seen = asyncio.run(scenario())
    print(seen)
    for allowed in (
        "venue-registry writes qr-keys",
        "checkin writes occupancy",
        "checkin reads qr-keys",
        "notifier reads people",
        "health-records reads lab results",
    ):
        assert seen.pop(allowed) in ("written", "read"), (allowed, seen)
    for what, outcome in seen.items():
        assert outcome not in ("written", "read"), (what, seen)
