"""Kafka plumbing: the producer, topic administration and the consumer runner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from lindung_shared.events import TOPICS, Topic
from lindung_shared.kafka.security import kafka_security

log = logging.getLogger(__name__)


def create_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    """A producer for events: every write acknowledged by all in-sync replicas, idempotent
    (no duplicates from its own retries), keyed, compressed and lightly batched."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        compression_type="lz4",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
        **kafka_security(),
    )


async def ensure_topics(bootstrap_servers: str, topics: Iterable[Topic] | None = None) -> list[str]:
    """Create the catalogue's topics that are missing, and set every topic's retention to the
    catalogue's (a topic created before a retention change gets the new one); returns the
    names it created."""
    wanted = list(topics or TOPICS.values())
    replicas = 1 if _single_broker(bootstrap_servers) else 3
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="lindung-admin", **kafka_security()
    )
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            name=t.name,
                            num_partitions=t.partitions,
                            replication_factor=replicas,
                            topic_configs=_topic_configs(t, replicas),
                        )
                        for t in missing
                    ]
                )
            created = [t.name for t in missing]
        present = [t for t in wanted if t.name in existing]
        if present:
            # Retention is a privacy promise (docs/privacy.md): applied to existing topics too.
            # (AlterConfigs replaces a topic's whole set: min.insync.replicas goes along.)
            await admin.alter_configs(
                [
                    ConfigResource(
                        ConfigResourceType.TOPIC, t.name, configs=_topic_configs(t, replicas)
                    )
                    for t in present
                ]
            )
    finally:
        await admin.close()
    return created


async def topic_retention_ms(bootstrap_servers: str, name: str) -> int:
    """The ``retention.ms`` a topic has on the brokers."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="lindung-admin", **kafka_security()
    )
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=None)]
        )
        for resource in response.resources:
            for entry in resource[4]:
                if entry[0] == "retention.ms":
                    return int(entry[1])
    finally:
        await admin.close()
    raise LookupError(f"topic {name} has no retention.ms")


def _topic_configs(topic: Topic, replicas: int) -> dict[str, str]:
    configs = {"retention.ms": str(topic.retention_hours * 3600_000)}
    if topic.compacted:
        configs["cleanup.policy"] = "compact,delete"
    if replicas >= 3:
        # acks=all then waits for two of the three replicas: one broker may be down (or
        # restarting) without stopping writes, and an acknowledged event is on two disks.
        configs["min.insync.replicas"] = "2"
    return configs


def _single_broker(bootstrap_servers: str) -> bool:
    return len([s for s in bootstrap_servers.split(",") if s.strip()]) == 1


_readiness_cache: dict[str, tuple[float, bool]] = {}


async def kafka_reachable(bootstrap_servers: str, timeout: float = 3.0) -> bool:
    """True when a broker answers a metadata request (cached for a second)."""
    cached = _readiness_cache.get(bootstrap_servers)
    now = time.monotonic()
    if cached and now - cached[0] < 1.0:
        return cached[1]
    try:
        security = kafka_security()
    except RuntimeError as exc:  # SASL without the principal's credentials
        log.warning("kafka client security is misconfigured: %s", exc)
        return False
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout * 1000), **security
    )
    ok = False
    try:
        await asyncio.wait_for(client.bootstrap(), timeout=timeout)
        ok = True
    except Exception as exc:  # any failure means "not ready"; say why in the log
        log.warning("kafka is not reachable: %s", type(exc).__name__)
    finally:
        try:
            await asyncio.wait_for(client.close(), timeout=timeout)
        except Exception:
            log.debug("closing the readiness client failed", exc_info=True)
    _readiness_cache[bootstrap_servers] = (now, ok)
    return ok
