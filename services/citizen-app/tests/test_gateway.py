"""The gateway's own rules, in-process: what it refuses before anything is forwarded (no
session, no CSRF token, a foreign origin, a route that is not a citizen's, an oversized body)
and the headers and files it serves. Forwarding to the real services is tested in
test_browser.py against the running suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from lindung_citizen.api import build_app
from lindung_citizen.gateway import ROUTES, find_route
from lindung_citizen.settings import Settings
from lindung_shared.testing import app_client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # Upstreams on a port nothing listens on: a call that got through would answer 502.
    settings = Settings(
        CHECKIN_HTTP_PORT=9,
        HEALTH_RECORDS_HTTP_PORT=9,
        NOTIFIER_HTTP_PORT=9,
        CITIZEN_APP_MAX_BODY_BYTES=1024,
    )
    async with app_client(build_app(settings), base_url="http://127.0.0.1:8006") as client:
        yield client


async def csrf(client: httpx.AsyncClient) -> str:
    answer = await client.get("/api/session")
    assert answer.status_code == 200
    assert answer.json()["signed_in"] is False
    token: str = answer.json()["csrf"]
    assert client.cookies["lindung_csrf"] == token
    return token


async def test_signed_in_routes_need_the_session_cookie(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/people/me/status")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


async def test_only_citizen_routes_pass(client: httpx.AsyncClient) -> None:
    client.cookies.set("lindung_session", "anything", path="/api")
    for method, path in [
        ("POST", "/api/v1/people/lookup"),  # an officer's look-up by NIK
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/feeds/fhir"),
        ("GET", "/api/v1/venues"),
        ("GET", "/api/v1/people/me/certificates/not-a-uuid/qr.png"),
        ("GET", "/api/v1/people/me/status/../../feeds/fhir"),
    ]:
        answer = await client.request(method, path, headers={"x-csrf-token": "x"})
        assert answer.status_code in (403, 404), (method, path, answer.status_code)
        assert answer.status_code == 404 or method != "GET"
    assert find_route("GET", "/v1/people/me/status") is not None
    assert find_route("DELETE", "/v1/people/me/status") is None
    assert all(r.pattern.pattern.startswith("^/v1/") for r in ROUTES)


async def test_state_changing_calls_need_the_csrf_token(client: httpx.AsyncClient) -> None:
    token = await csrf(client)
    client.cookies.set("lindung_session", "anything", path="/api")
    body = {"qr": "LINDUNG1:x"}
    missing = await client.post("/api/v1/checkins", json=body)
    assert missing.status_code == 403
    assert missing.json()["type"].endswith("/csrf")
    wrong = await client.post("/api/v1/checkins", json=body, headers={"x-csrf-token": "nope"})
    assert wrong.status_code == 403
    foreign = await client.post(
        "/api/v1/checkins",
        json=body,
        headers={"x-csrf-token": token, "origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    sign_in = await client.post("/api/session", json={"request_id": "r", "code": "123456"})
    assert sign_in.status_code == 403
    # With the token and our own origin the call is forwarded (nothing listens: 502).
    passed = await client.post(
        "/api/v1/checkins",
        json=body,
        headers={"x-csrf-token": token, "origin": "http://127.0.0.1:8006"},
    )
    assert passed.status_code == 502
    assert passed.json()["type"].endswith("/upstream-unavailable")


async def test_bodies_are_bounded(client: httpx.AsyncClient) -> None:
    token = await csrf(client)
    client.cookies.set("lindung_session", "anything", path="/api")
    big = {"items": [{"client_id": "a", "qr": "x" * 2000, "scanned_at": "2026-01-01T00:00:00Z"}]}
    answer = await client.post("/api/v1/checkins/batch", json=big, headers={"x-csrf-token": token})
    assert answer.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(5):
            yield b"x" * 400

    streamed = await client.post(
        "/api/v1/checkins/batch",
        content=chunks(),
        headers={"x-csrf-token": token, "content-type": "application/json"},
    )
    assert streamed.status_code == 413


async def test_hostile_bodies_are_refused_before_they_are_forwarded(
    client: httpx.AsyncClient,
) -> None:
    """The services' own guard: a Content-Length that is not a number is a bad request (400),
    not a large body; a NUL or JSON nested past the limit is refused (422) here already."""
    token = await csrf(client)
    client.cookies.set("lindung_session", "anything", path="/api")
    headers = {"x-csrf-token": token, "content-type": "application/json"}
    bad_length = await client.post(
        "/api/v1/checkins", content=b"{}", headers={**headers, "content-length": "12abc"}
    )
    assert bad_length.status_code == 400, bad_length.text
    assert bad_length.json()["type"].endswith("/bad-content-length")
    nul = await client.post("/api/v1/checkins", content=b'{"qr": "a\\u0000b"}', headers=headers)
    assert nul.status_code == 422, nul.text
    deep = await client.post("/api/v1/checkins", content=b"[" * 100 + b"]" * 100, headers=headers)
    assert deep.status_code == 422, deep.text
    assert deep.json()["type"].endswith("/hostile-json")


async def test_sign_in_body_is_validated(client: httpx.AsyncClient) -> None:
    token = await csrf(client)
    for body in (b"", b"{}", b'{"request_id": "r", "code": "12345"}', b"\xff\xfe", b"[1]"):
        answer = await client.post(
            "/api/session",
            content=body,
            headers={"x-csrf-token": token, "content-type": "application/json"},
        )
        assert answer.status_code == 422, body
    sign_out = await client.delete("/api/session", headers={"x-csrf-token": token})
    assert sign_out.status_code == 204


async def test_the_app_files_and_headers(client: httpx.AsyncClient) -> None:
    index = await client.get("/")
    assert index.status_code == 200
    assert '<link rel="manifest" href="/manifest.webmanifest">' in index.text
    csp = index.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert index.headers["x-frame-options"] == "DENY"
    manifest = await client.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["display"] == "standalone"
    worker = await client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["cache-control"] == "no-cache"
    assert "text/javascript" in worker.headers["content-type"]
    # Every file the service worker pre-caches is served.
    shell = worker.text.split("const SHELL = [", 1)[1].split("];", 1)[0]
    for path in [p.strip().strip('"') for p in shell.replace("\n", "").split(",") if p.strip()]:
        assert (await client.get(path)).status_code == 200, path
    assert (await client.get("/vendor/jsQR.LICENSE")).status_code == 200
    assert (await client.get("/nope.js")).status_code == 404
    config = await client.get("/api/config")
    assert config.json() == {"vapid_public_key": None}
