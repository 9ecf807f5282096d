"""Fixtures: a fresh migrated database, real local HTTP gateways, a running API server."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import uvicorn
from lindung_notifier.manifest import SERVICE
from lindung_notifier.settings import Settings
from lindung_notifier.worker import gateway_session
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.testing import fresh_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@pytest.fixture(scope="session")
async def settings() -> AsyncIterator[Settings]:
    base = Settings(database_pool_size=5, database_max_overflow=5)
    async with fresh_database(base, Path(SERVICE.migrations_dir)) as test_settings:
        yield test_settings


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def clean_deliveries(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The delivery worker claims from the whole table: start each delivery test empty."""
    async with sessionmaker() as session, session.begin():
        await session.execute(text("DELETE FROM deliveries"))


# --- real local gateways ----------------------------------------------------------------------


@dataclass
class Gateway:
    """A local HTTP gateway. It honours the idempotency reference like a real one: a repeated
    reference is answered with the first message id and is not a second message."""

    kind: str  # "sms" | "push"
    fail_first: int = 0
    delay: float = 0.0
    slow_first_only: bool = False
    url: str = ""
    calls: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    by_reference: dict[str, str] = field(default_factory=dict)

    def reference_of(self, body: dict[str, Any]) -> str:
        if self.kind == "sms":
            return str(body["reference"])
        return str(body["message"]["data"]["delivery_id"])

    async def handle(self, request: Request) -> JSONResponse:
        self.calls += 1
        body = await request.json()
        if request.headers.get("authorization", "") == "":
            return JSONResponse({"error": "no credentials"}, status_code=401)
        if self.calls <= self.fail_first:
            return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
        if self.kind == "push" and str(body["message"]["token"]).startswith("bad-"):
            return JSONResponse(
                {"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}},
                status_code=404,
            )
        reference = self.reference_of(body)
        first = reference not in self.by_reference
        if first:
            self.by_reference[reference] = f"{self.kind}-{len(self.by_reference) + 1}"
            self.received.append(body)
        if self.delay and (first or not self.slow_first_only):
            await asyncio.sleep(self.delay)
        key = "message_id" if self.kind == "sms" else "name"
        return JSONResponse({key: self.by_reference[reference]})

    def texts_to(self, phone: str) -> list[str]:
        return [b["text"] for b in self.received if b["to"] == phone]

    def pushes_to(self, token: str) -> list[dict[str, Any]]:
        return [b["message"] for b in self.received if b["message"]["token"] == token]


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def closed_port_url() -> str:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/v1/send"


@dataclass
class Served:
    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, timeout=10)


async def serve(app: Any) -> Served:
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "server did not start"
    return Served(server, task, f"http://127.0.0.1:{port}")


@pytest.fixture
async def gateways() -> AsyncIterator[Any]:
    """``await make(kind, **behaviour)`` starts a gateway; all are stopped afterwards."""
    started: list[Served] = []

    async def make(kind: str, **behaviour: Any) -> Gateway:
        gateway = Gateway(kind, **behaviour)
        app = Starlette(routes=[Route("/v1/send", gateway.handle, methods=["POST"])])
        served = await serve(app)
        started.append(served)
        gateway.url = served.url + "/v1/send"
        return gateway

    yield make
    for served in started:
        await served.stop()


@pytest.fixture
async def http_client(settings: Settings) -> AsyncIterator[aiohttp.ClientSession]:
    """The gateways' client, as the worker makes it."""
    async with gateway_session(settings) as client:
        yield client


def new_subject() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def down_url() -> str:
    """A gateway URL where nothing listens (connection refused)."""
    return closed_port_url()


@pytest.fixture(scope="session")
def serve_app() -> Any:
    """``await serve_app(app)`` runs an ASGI app on a free local port (``.url``, ``.stop()``)."""
    return serve
