"""The request guard (bodies bounded before they are read; NUL, deep JSON and lone surrogates
refused) and ContainErrors (a 500 never drops the keep-alive connection), through a real app
served by uvicorn on a real socket."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import APIRouter, Request
from lindung_shared.app import create_app
from lindung_shared.auth import CitizenDep
from lindung_shared.guard import MAX_JSON_DEPTH, hostile_json, too_deep
from lindung_shared.settings import ServiceSettings
from lindung_shared.testing import bearer

router = APIRouter()


@router.post("/v1/echo")
async def echo(request: Request) -> dict[str, Any]:
    return {"size": len(await request.body())}


@router.post("/v1/json")
async def parse(body: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(body)}


@router.post("/v1/big")
async def big(request: Request) -> dict[str, Any]:
    return {"size": len(await request.body())}


@router.get("/v1/boom")
async def boom() -> None:
    raise RuntimeError("a bug")


@router.get("/v1/items")
async def items(q: str = "") -> dict[str, str]:
    return {"q": q}


@router.get("/v1/me")
async def me(principal: CitizenDep) -> dict[str, str]:
    return {"subject": principal.subject}


class Server:
    def __init__(self, settings: ServiceSettings) -> None:
        app = create_app(
            settings=settings,
            title="guard test",
            description="",
            routers=[router],
            body_limits={"/v1/big": 1_000_000},
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.05)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    settings = ServiceSettings(service_name="guard-test", max_body_bytes=65_536)  # type: ignore[call-arg]
    with Server(settings) as running:
        yield running


def _ask(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], http.client.HTTPResponse]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else {}, response


def test_a_500_keeps_the_connection_open(server: Server) -> None:
    conn = server.connection()
    status, problem, response = _ask(conn, "GET", "/v1/boom")
    assert status == 500 and problem["type"].endswith("internal-error")
    assert response.getheader("content-type") == "application/problem+json"
    sock = conn.sock
    status, answer, _ = _ask(conn, "GET", "/v1/items?q=x")
    assert (status, answer) == (200, {"q": "x"})
    assert conn.sock is sock, "the client had to reconnect"


def test_a_declared_length_over_the_limit_is_refused_unread(server: Server) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    # Declares 100 MB and sends none of it: the answer comes anyway, without reading.
    sock.sendall(
        b"POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000000\r\n\r\n"
    )
    answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"application/problem+json" in answer and b"65536" in answer


def test_a_chunked_body_is_refused_while_it_streams(server: Server) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(
        b"POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (10_000, b"x" * 10_000)
    sent = 0
    sock.settimeout(0.05)
    answer = b""
    while sent < 10_000 and not answer:  # 100 MB if it were all read
        try:
            sock.sendall(chunk)
            sent += 1
            answer = sock.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
    sock.settimeout(30)
    if not answer:
        answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
    assert sent < 20, f"the server read {sent * 10_000} bytes before refusing"


def test_a_route_with_a_larger_limit_reads_more(server: Server) -> None:
    conn = server.connection()
    status, answer, _ = _ask(conn, "POST", "/v1/big", b"x" * 500_000)
    assert (status, answer) == (200, {"size": 500_000})
    status, _, _ = _ask(server.connection(), "POST", "/v1/echo", b"x" * 500_000)
    assert status == 413
    status, answer, _ = _ask(conn, "POST", "/v1/echo", b"x" * 65_536)  # at the limit
    assert (status, answer) == (200, {"size": 65_536})


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "x\\u0000y"}',
        b'{"a": ["ok", "\\u0000"]}',
        b'{"a\\u0000": 1}',
        '{"a": "x\\u0000"}'.encode("utf-16"),
        b'{"a": "\\ud800"}',
        b'{"a": "\\udc00x"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 100 + b"1" + b"}" * 100,
    ],
)
def test_hostile_json_is_refused_before_the_route(server: Server, body: bytes) -> None:
    conn = server.connection()
    headers = {"Content-Type": "application/json"}
    status, problem, _ = _ask(conn, "POST", "/v1/json", body, headers)
    assert status == 422, problem
    assert problem["status"] == 422 and problem["detail"]
    status, _, _ = _ask(conn, "GET", "/v1/items")  # and the connection stays usable
    assert status == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "x\\\\u0000y"}',  # an escaped backslash, then the text u0000: no NUL
        b'{"a": "\\ud83d\\ude00"}',  # a surrogate pair (an emoji)
        b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',
        b'{"a":' * MAX_JSON_DEPTH + b"1" + b"}" * MAX_JSON_DEPTH,
    ],
)
def test_ordinary_json_passes(server: Server, body: bytes) -> None:
    status, answer, _ = _ask(
        server.connection(), "POST", "/v1/json", body, {"Content-Type": "application/json"}
    )
    assert (status, answer) == (200, {"keys": 1})


@pytest.mark.parametrize("path", ["/v1/items?q=%00", "/v1/items?q=a%00b", "/v1/items%00"])
def test_nul_in_the_path_or_query_is_refused(server: Server, path: str) -> None:
    status, problem, _ = _ask(server.connection(), "GET", path)
    assert status == 422 and problem["type"].endswith("nul-character")


def test_a_bad_content_length_is_a_400(server: Server) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(b"POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 12x\r\n\r\n")
    answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": 5},
        {"roles": "citizen"},
        {"roles": [["citizen"]]},
        {"roles": [{"a": 1}]},
        {"venues": 7},
        {"venues": [1, 2]},
        {"jti": 12},
        {"sub": 42},
        {"sub": None},
    ],
)
def test_every_claim_is_type_checked(server: Server, claims: dict[str, Any]) -> None:
    import jwt as pyjwt
    from lindung_shared.auth import ensure_dev_keys

    settings = ServiceSettings()  # type: ignore[call-arg]
    key, kid = ensure_dev_keys(settings.keys_dir)
    now = int(time.time())
    payload = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": "0b7e1f43-2a35-4b55-8f0c-3c1d9d0a8e21",
        "roles": ["citizen"],
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    token = pyjwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})
    conn = server.connection()
    status, problem, _ = _ask(conn, "GET", "/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert status == 401, problem
    status, _, _ = _ask(conn, "GET", "/v1/me", headers=bearer(settings, "citizen"))
    assert status == 200


def test_depth_counting_ignores_brackets_in_strings() -> None:
    assert not too_deep(b'{"a": "' + b"[" * 1000 + b'"}')
    assert too_deep(b"[" * 65 + b"]" * 65)
    assert not too_deep(b"[" * 64 + b"]" * 64)
    assert not too_deep(b"[[]]" * 1000)  # many brackets, shallow
    assert hostile_json(b'{"a": 1}') is None
