"""Helpers for service test suites: a fresh, migrated database on the real server.

The stack (real PostgreSQL and Kafka) is started by ``make test`` before pytest runs; these
helpers only create a throwaway database per test session and drop it afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI

from lindung_shared.auth import TokenIssuer
from lindung_shared.dbadmin import create_database, drop_database
from lindung_shared.events import TOPICS
from lindung_shared.jurisdiction import Jurisdiction
from lindung_shared.kafka.security import command_env, kafka_security
from lindung_shared.migrations import upgrade
from lindung_shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


@asynccontextmanager
async def fresh_database(settings: S, migrations_dir: Path) -> AsyncIterator[S]:
    """Yield a copy of ``settings`` pointing at a new, migrated database."""
    name = f"{settings.database_name}_t{uuid.uuid4().hex[:10]}"
    await create_database(settings.server_url, name)
    test_settings = settings.model_copy(update={"database_name": name})
    try:
        await asyncio.to_thread(upgrade, migrations_dir, test_settings.sqlalchemy_url)
        yield test_settings
    finally:
        if os.environ.get("LINDUNG_KEEP_TEST_DB") != "1":
            await drop_database(settings.server_url, name)


def unique(prefix: str) -> str:
    """A unique name (consumer groups, topics) so tests never see each other's state."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def app_client(
    app: FastAPI, base_url: str = "http://testserver"
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to ``app`` in-process, with its lifespan run around it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def bearer(
    settings: ServiceSettings,
    role: str,
    subject: str | None = None,
    venues: tuple[str, ...] = (),
    ttl_seconds: int = 3600,
    jurisdiction: Jurisdiction | None = None,
) -> dict[str, str]:
    """Authorization headers with a development token for ``role``. A health officer's token
    is of national jurisdiction unless ``jurisdiction`` says otherwise."""
    issuer = TokenIssuer.development(settings)
    if jurisdiction is None and role == "health_officer":
        jurisdiction = Jurisdiction.national()
    token = issuer.issue(
        subject=subject or str(uuid.uuid4()),
        roles=[role],
        venues=venues,
        ttl_seconds=ttl_seconds,
        jurisdiction=jurisdiction,
    )
    return {"Authorization": f"Bearer {token}"}


async def start_at_the_end(bootstrap: str, group: str, topics: Iterable[str]) -> None:
    """Commit ``group``'s offsets at the topics' current ends. The shared topics hold every
    earlier run's history (benchmarks put hundreds of thousands of events there); a test's
    fresh group reads only what the test itself produces."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **kafka_security()
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(TOPICS[t].partitions)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(dict(ends.items()))
    finally:
        await consumer.stop()


class TcpProxy:
    """A TCP proxy that a test can cut and restore, to simulate a server going away (the
    shared stack stays up for everyone else)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> TcpProxy:
        await self.restore()
        return self

    async def __aexit__(self, *exc: object | TracebackType) -> None:
        await self.cut()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.discard(writer)
        self._writers.discard(up_writer)


def via_port(url: str, port: int) -> str:
    """``url`` with its host and port replaced by 127.0.0.1:``port`` (a proxy's)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    userinfo = f"{netloc[0]}@" if len(netloc) == 2 else ""
    return urlunsplit((parts.scheme, userinfo + host, parts.path, parts.query, parts.fragment))


@contextmanager
def running_processes(
    commands: Sequence[tuple[str, Sequence[str]]],
    *,
    env: Mapping[str, str],
    logs: Path,
    ready: Sequence[str],
    cwd: Path | None = None,
    timeout: float = 180.0,
) -> Iterator[None]:
    """Run ``commands`` (name, argv) as real processes, each in its own process group with its
    output in ``logs/<name>.log``, until the block ends; the block starts once every URL in
    ``ready`` answers ``/readyz`` with 200. A process that exits, or a URL not ready within
    ``timeout`` seconds, fails the start with the last lines of every log. At the end each is
    sent SIGTERM (graceful shutdown is part of every service's contract) and the log of any
    that did not end cleanly within 30 s is printed. A service's process connects to the
    local stack's Kafka as the service's own principal, not as the tests' admin
    (:func:`lindung_shared.kafka.security.command_env`)."""
    processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    for name, argv in commands:
        log = logs / f"{name}.log"
        popen = subprocess.Popen(  # noqa: S603 (the test suite's own commands)
            list(argv),
            cwd=cwd,
            env=command_env(argv, env),
            stdin=subprocess.DEVNULL,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append((name, popen, log))
    try:
        deadline = time.monotonic() + timeout
        for url in ready:
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=3).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                dead = [name for name, p, _ in processes if p.poll() is not None]
                if dead or time.monotonic() > deadline:
                    for name, _, log in processes:
                        tail = log.read_text(errors="replace").splitlines()[-20:]
                        print(f"--- {name}:\n" + "\n".join(tail))
                    raise RuntimeError(f"{url} did not become ready; exited: {dead}")
                time.sleep(0.5)
        yield
    finally:
        for _, popen, _ in processes:
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGTERM)
        for name, popen, log in processes:
            try:
                code = popen.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                code = popen.wait(5)
            if code not in (0, -signal.SIGTERM):
                print(f"--- {name} exited {code}; last lines of {log}:")
                print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))
