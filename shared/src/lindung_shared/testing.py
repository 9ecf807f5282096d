"""Helpers for service test suites: a fresh, migrated database on the real server.

The stack (real PostgreSQL and Kafka) is started by ``make test`` before pytest runs; these
helpers only create a throwaway database per test session and drop it afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
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
) -> dict[str, str]:
    """Authorization headers with a development token for ``role``."""
    issuer = TokenIssuer.development(settings)
    token = issuer.issue(
        subject=subject or str(uuid.uuid4()), roles=[role], venues=venues, ttl_seconds=ttl_seconds
    )
    return {"Authorization": f"Bearer {token}"}


async def start_at_the_end(bootstrap: str, group: str, topics: Iterable[str]) -> None:
    """Commit ``group``'s offsets at the topics' current ends. The shared topics hold every
    earlier run's history (benchmarks put hundreds of thousands of events there); a test's
    fresh group reads only what the test itself produces."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
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
