"""PostgreSQL unreachable: every route answers 503 problem+json with Retry-After on a
connection that stays open, the API recovers by itself when the database is back, and its
log does not flood. The outage is a TCP proxy in front of the shared PostgreSQL, cut and
restored (the stack stays up for everyone else)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
from lindung_shared.auth import TokenIssuer
from lindung_shared.settings import ServiceSettings
from lindung_shared.testing import TcpProxy, via_port

from .procs import ServiceProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


class KeepAlive:
    """One HTTP/1.1 connection, kept: each request goes over the same socket, so a server
    that drops the connection after an answer shows up as an error on the next request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def __aenter__(self) -> KeepAlive:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.writer.close()

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: object = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = b"" if body is None else orjson.dumps(body)
        head = [f"{method} {path} HTTP/1.1", "Host: test", f"Content-Length: {len(data)}"]
        if data:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await self.writer.drain()
        status_line = await asyncio.wait_for(self.reader.readline(), 30)
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        answer: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            answer[name.strip().lower()] = value.strip()
        content = await self.reader.readexactly(int(answer.get("content-length", "0")))
        return status, answer, content


async def test_database_outage_answers_503_keeps_the_connection_and_recovers(
    tmp_path: Path,
) -> None:
    settings = ServiceSettings()
    pg = urlsplit(settings.database_url)
    issuer = TokenIssuer.development(settings)
    manager = {
        "Authorization": "Bearer "
        + issuer.issue(subject=f"manager-{uuid.uuid4().hex[:8]}", roles=["venue_manager"])
    }
    venue = {
        "name": "Warung Mati Lampu",
        "category": "restaurant",
        "address": "Jl. Kemang Raya",
        "regency_code": "3171",
        "latitude": -6.26,
        "longitude": 106.81,
        "capacity": 40,
        "max_stay_minutes": 120,
        "entrances": ["main"],
    }
    async with TcpProxy(pg.hostname or "127.0.0.1", pg.port or 5432) as proxy:
        api = ServiceProcess(
            "venue-registry",
            "api",
            tmp_path,
            env={"DATABASE_URL": via_port(settings.database_url, proxy.port)},
        )
        api.start()
        try:
            await asyncio.to_thread(api.wait_ready)
            async with KeepAlive(api.port) as http:
                status, _, _ = await http.request("GET", "/v1/venues", manager)
                assert status == 200
                status, _, _ = await http.request("POST", "/v1/venues", manager, venue)
                assert status == 201

                await proxy.cut()
                outage_started = time.monotonic()
                for method, path, body in [
                    ("GET", "/v1/venues", None),
                    ("POST", "/v1/venues", venue),
                    ("GET", f"/v1/venues/{uuid.uuid4()}", None),
                    ("GET", "/.well-known/jwks.json", None),
                ] * 50:
                    status, headers, content = await http.request(method, path, manager, body)
                    assert status == 503, (method, path, status, content[:300])
                    assert headers["content-type"] == "application/problem+json"
                    assert int(headers["retry-after"]) >= 1
                    assert headers.get("connection", "").lower() != "close"
                    assert orjson.loads(content)["status"] == 503
                status, _, _ = await http.request("GET", "/readyz", {})
                assert status == 503

                await proxy.restore()
                restored = time.monotonic()
                while True:
                    status, _, _ = await http.request("GET", "/v1/venues", manager)
                    if status == 200:
                        break
                    assert status == 503
                    assert time.monotonic() - restored < 15, "did not recover by itself"
                    await asyncio.sleep(0.2)
                status, _, _ = await http.request("POST", "/v1/venues", manager, venue)
                assert status == 201
        finally:
            api.stop()
    # 200 failed requests in the outage: a handful of log lines, the rest counted.
    log = (await asyncio.to_thread(_read_logs, tmp_path)).decode(errors="replace")
    outage_lines = [line for line in log.splitlines() if "dependency unavailable" in line]
    assert 1 <= len(outage_lines) <= 12, len(outage_lines)
    assert time.monotonic() - outage_started < 120


def _read_logs(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.glob("*.log")))
