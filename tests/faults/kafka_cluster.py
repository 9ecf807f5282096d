"""A private Kafka (one broker or a three-broker KRaft cluster) for tests that kill brokers,
so that the shared stack stays up for everyone else. It runs the jars `make stack` fetched
(.stack/kafka/libs) with deploy/local/kafka/server.properties rendered per node: SASL/SCRAM
and ACLs like the stack, with the stack's credentials (so the tests' environment, the admin,
and each service's own principal reach it as they reach the stack) or, without a stack that
has them, generated ones (:meth:`KafkaCluster.client_env` then says how to connect)."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lindung_shared.kafka.security import (
    PRINCIPALS,
    SASL_DIR_VARIABLE,
    kafka_security,
    stack_passwords,
)

from .procs import ROOT, free_port

TEMPLATE = ROOT / "deploy/local/kafka/server.properties"
LOG4J = ROOT / "deploy/local/kafka/log4j2.properties"
TOOLS_LOG4J = ROOT / "deploy/local/kafka/tools-log4j2.properties"
MECHANISM = "SCRAM-SHA-512"


def _libs() -> Path:
    libs = Path(os.environ.get("LINDUNG_KAFKA_LIBS", ROOT / ".stack/kafka/libs"))
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise RuntimeError(f"no Kafka jars in {libs}: run `make stack` once")
    return libs


@dataclass
class KafkaNode:
    node_id: int
    port: int
    controller_port: int
    home: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class KafkaCluster:
    workdir: Path
    size: int = 1
    nodes: list[KafkaNode] = field(default_factory=list)
    #: More principals (name -> password) than the suite's (a test's intruder, say).
    extra_principals: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.passwords = stack_passwords(os.environ)
        if set(self.passwords) != set(PRINCIPALS):
            self.passwords = {name: secrets.token_urlsafe(18) for name in PRINCIPALS}
        self.passwords.update(self.extra_principals)
        self.sasl_dir = self.workdir / "sasl"
        self.sasl_dir.mkdir(parents=True, exist_ok=True)
        for name, password in self.passwords.items():
            path = self.sasl_dir / f"{name}.password"
            path.touch(mode=0o600)
            path.write_text(password + "\n")
        scram = [
            arg
            for name, password in self.passwords.items()
            for arg in ("--add-scram", f"{MECHANISM}=[name={name},password={password}]")
        ]
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if self.cluster_id.startswith("-"):
            self.cluster_id = "A" + self.cluster_id[1:]
        for i in range(1, self.size + 1):
            home = self.workdir / f"kafka-{i}"
            home.mkdir(parents=True, exist_ok=True)
            self.nodes.append(KafkaNode(i, free_port(), free_port(), home))
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        replicas = min(3, self.size)
        for node in self.nodes:
            text = (
                TEMPLATE.read_text()
                .replace("@KAFKA_PORT@", str(node.port))
                .replace("@CONTROLLER_PORT@", str(node.controller_port))
                .replace("@LOG_DIRS@", str(node.home / "data"))
                .replace("@ADMIN_PASSWORD@", self.passwords["admin"])
                .replace("node.id=1", f"node.id={node.node_id}")
            )
            text = "\n".join(
                f"controller.quorum.voters={voters}"
                if line.startswith("controller.quorum.voters=")
                else line
                for line in text.splitlines()
            )
            if replicas > 1:
                for name in (
                    "offsets.topic.replication.factor",
                    "transaction.state.log.replication.factor",
                    "share.coordinator.state.topic.replication.factor",
                    "default.replication.factor",
                ):
                    text = text.replace(f"{name}=1", f"{name}={replicas}")
                for name in (
                    "transaction.state.log.min.isr",
                    "share.coordinator.state.topic.min.isr",
                    "min.insync.replicas",
                ):
                    text = text.replace(f"{name}=1", f"{name}=2")
            # A test's cluster needs no 50 offset partitions (the default): creating them
            # delays the first consumer group by a minute on a busy machine.
            text += "\noffsets.topic.num.partitions=6"
            text += "\ninitial.broker.registration.timeout.ms=600000"
            (node.home / "server.properties").write_text(text + "\n")
            subprocess.run(
                [
                    "java",
                    "-cp",
                    f"{_libs()}/*",
                    f"-Dlog4j2.configurationFile={TOOLS_LOG4J}",
                    "kafka.tools.StorageTool",
                    "format",
                    "--config",
                    str(node.home / "server.properties"),
                    "--cluster-id",
                    self.cluster_id,
                    "--ignore-formatted",
                    *scram,
                ],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=120,
            )

    def client_env(self) -> dict[str, str]:
        """The environment of a client connecting as admin (the tests; a service process gets
        its own principal from it: ``lindung_shared.kafka.security.service_env``)."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": MECHANISM,
            "KAFKA_SASL_USERNAME": "admin",
            "KAFKA_SASL_PASSWORD_FILE": str(self.sasl_dir / "admin.password"),
            SASL_DIR_VARIABLE: str(self.sasl_dir),
        }

    @contextlib.contextmanager
    def as_client(self) -> Iterator[None]:
        """This process's Kafka clients (and the service processes it starts, each as its own
        principal) connect to this cluster as :meth:`client_env` says, until the block ends."""
        wanted = self.client_env()
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

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self, node: KafkaNode | None = None) -> None:
        for n in [node] if node else self.nodes:
            if n.alive:
                continue
            logs = n.home / "logs"
            logs.mkdir(exist_ok=True)
            n.popen = subprocess.Popen(
                [
                    "java",
                    "-Xms128m",
                    "-Xmx384m",
                    "-XX:+UseSerialGC",
                    "-Djava.awt.headless=true",
                    f"-Dkafka.logs.dir={logs}",
                    f"-Dlog4j2.configurationFile={LOG4J}",
                    "-cp",
                    f"{_libs()}/*",
                    "kafka.Kafka",
                    str(n.home / "server.properties"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=(logs / "kafka.out").open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill9(self, node: KafkaNode) -> None:
        if node.popen is not None and node.popen.poll() is None:
            os.killpg(node.popen.pid, signal.SIGKILL)
            node.popen.wait(15)

    def stop(self) -> None:
        for n in self.nodes:
            if n.popen is not None and n.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(n.popen.pid, signal.SIGTERM)
        for n in self.nodes:
            if n.popen is not None:
                try:
                    n.popen.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(n.popen.pid, signal.SIGKILL)
                    n.popen.wait(5)

    def wait_ready(self, node: KafkaNode | None = None, timeout: float = 120.0) -> float:
        """Seconds until the node (every node) answers a metadata request."""
        started = time.monotonic()
        for n in [node] if node else self.nodes:
            while True:
                probe = subprocess.run(
                    [
                        *("python3", str(ROOT / "deploy/local/kafka-ready.py")),
                        *(f"127.0.0.1:{n.port}", "--timeout", "3"),
                        *("--sasl-mechanism", MECHANISM, "--sasl-username", "admin"),
                        *("--sasl-password-file", str(self.sasl_dir / "admin.password")),
                    ],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    check=False,
                )
                if probe.returncode == 0:
                    break
                if not n.alive:
                    raise RuntimeError(f"kafka node {n.node_id} exited; see {n.home}/logs")
                if time.monotonic() - started > timeout:
                    raise RuntimeError(f"kafka node {n.node_id} not ready after {timeout}s")
                time.sleep(0.5)
        return time.monotonic() - started
