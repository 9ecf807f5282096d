"""Kafka with SASL/SCRAM and ACLs: a private broker (the jars of the local stack) that
authenticates every client and authorises by the plan of ``lindung_shared.kafka.acls``,
applied by the same code ``lindung bootstrap`` runs. Each service connects as its own
principal through ``lindung_shared.kafka.kafka_security`` (the environment): only
venue-registry may publish a QR signing key; a wrong password, or a principal without
rules, gets nothing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from lindung_shared.events import TOPICS
from lindung_shared.kafka import create_producer, ensure_topics
from lindung_shared.kafka.acls import SERVICES, acl_plan, apply_acls, writers_of
from lindung_shared.kafka.security import kafka_security

from tests.faults.kafka_cluster import LOG4J, TEMPLATE, TOOLS_LOG4J, _libs
from tests.faults.procs import free_port

pytestmark = pytest.mark.timeout(420)

MECHANISM = "SCRAM-SHA-512"
#: Every principal's password (a throw-away broker); the intruder has no rules at all.
PASSWORDS = {name: f"{name}-{uuid.uuid4().hex[:12]}" for name in ("admin", *SERVICES, "intruder")}


def _properties(port: int, controller: int, data: Path) -> str:
    text = (
        TEMPLATE.read_text()
        .replace("@KAFKA_PORT@", str(port))
        .replace("@CONTROLLER_PORT@", str(controller))
        .replace("@LOG_DIRS@", str(data))
    )
    sasl = {
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
    }
    lines = [
        f"{line.split('=', 1)[0]}={sasl[line.split('=', 1)[0]]}"
        if line.split("=", 1)[0] in sasl
        else line
        for line in text.splitlines()
    ]
    admin = PASSWORDS["admin"]
    lines += [
        f"sasl.enabled.mechanisms={MECHANISM}",
        f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
        f"listener.name.sasl_plaintext.{MECHANISM.lower()}.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="admin" password="{admin}";',
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        # The controller listener is PLAINTEXT inside the node (its principal is ANONYMOUS).
        "super.users=User:admin;User:ANONYMOUS",
        "allow.everyone.if.no.acl.found=false",
        "offsets.topic.num.partitions=1",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("kafka-sasl")
    port, controller = free_port(), free_port()
    props = home / "server.properties"
    props.write_text(_properties(port, controller, home / "data"))
    cluster = "A" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")[1:]
    scram = [
        arg
        for name, password in PASSWORDS.items()
        for arg in ("--add-scram", f"{MECHANISM}=[name={name},password={password}]")
    ]
    subprocess.run(
        [
            *("java", "-cp", f"{_libs()}/*", f"-Dlog4j2.configurationFile={TOOLS_LOG4J}"),
            *("kafka.tools.StorageTool", "format", "--config", str(props)),
            *("--cluster-id", cluster, *scram),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=180,
    )
    logs = home / "logs"
    logs.mkdir()
    process = subprocess.Popen(
        [
            *("java", "-Xms128m", "-Xmx384m", "-XX:+UseSerialGC", "-Djava.awt.headless=true"),
            *(f"-Dkafka.logs.dir={logs}", f"-Dlog4j2.configurationFile={LOG4J}"),
            *("-cp", f"{_libs()}/*", "kafka.Kafka", str(props)),
        ],
        stdin=subprocess.DEVNULL,
        stdout=(logs / "kafka.out").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


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


def test_the_plan_lets_only_venue_registry_write_qr_keys() -> None:
    plan = acl_plan()
    assert writers_of("lindung.qr-keys", plan) == {"User:venue-registry"}
    # Every service reads every topic and writes dead letters; nobody writes what it does not
    # produce.
    for service in SERVICES:
        readable = {
            b.name for b in plan if b.principal == f"User:{service}" and b.operation == "READ"
        }
        assert set(TOPICS) <= readable, service
    assert writers_of("lindung.token-revocations", plan) == {"User:health-records"}


def test_each_service_its_own_principal_and_only_venue_registry_writes_qr_keys(
    broker: str,
) -> None:
    async def scenario() -> dict[str, str]:
        seen: dict[str, str] = {}
        with principal("admin"):
            await _until_up(broker)
            await ensure_topics(broker)
            assert await apply_acls(broker) == len(acl_plan())
        for name in SERVICES:
            with principal(name):
                seen[f"{name} writes qr-keys"] = await _publish(broker, "lindung.qr-keys")
        with principal("intruder"):
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
        return seen

    seen = asyncio.run(scenario())
    print(seen)
    assert seen.pop("venue-registry writes qr-keys") == "written", seen
    assert seen.pop("checkin writes occupancy") == "written", seen
    assert seen.pop("checkin reads qr-keys") == "read", seen
    for what, outcome in seen.items():
        assert outcome not in ("written", "read"), (what, seen)
