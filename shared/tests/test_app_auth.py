"""Tokens, roles and the operations endpoints, through a real app on the real database."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter
from lindung_shared.app import create_app
from lindung_shared.auth import CitizenDep, HealthOfficerDep, Principal, TokenIssuer
from lindung_shared.errors import NotFound
from lindung_shared.settings import ServiceSettings
from lindung_shared.testing import app_client, bearer

from .proxy import TcpProxy

router = APIRouter()


@router.get("/v1/whoami")
async def whoami(principal: CitizenDep) -> dict[str, str]:
    return {"subject": principal.subject}


@router.get("/v1/officers-only")
async def officers(principal: HealthOfficerDep) -> dict[str, str]:
    return {"subject": principal.subject}


@router.get("/v1/missing")
async def missing(principal: CitizenDep) -> Principal:
    raise NotFound("no such thing")


@pytest.fixture
def settings(producer_db: ServiceSettings) -> ServiceSettings:
    return producer_db


async def test_a_valid_token_with_the_right_role_is_admitted(settings):
    async with app_client(
        create_app(settings=settings, title="t", description="t", routers=[router])
    ) as client:
        r = await client.get("/v1/whoami", headers=bearer(settings, "citizen", "p-1"))
        assert r.status_code == 200
        assert r.json() == {"subject": "p-1"}
        assert r.headers["x-request-id"]


async def test_wrong_role_missing_token_bad_signature_and_expiry_are_refused(settings):
    app = create_app(settings=settings, title="t", description="t", routers=[router])
    async with app_client(app) as client:
        r = await client.get("/v1/officers-only", headers=bearer(settings, "citizen"))
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        assert "health_officer" in r.json()["detail"]

        r = await client.get("/v1/whoami")
        assert r.status_code == 401

        # Same key id, different key: a forged token.
        real = TokenIssuer.development(settings)
        forger = TokenIssuer(
            Ed25519PrivateKey.generate(), real.key_id, issuer=real.issuer, audience=real.audience
        )
        forged = forger.issue(subject="p-1", roles=["citizen"])
        r = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401

        expired = real.issue(
            subject="p-1", roles=["citizen"], ttl_seconds=60, now=time.time() - 3600
        )
        r = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401
        assert "expired" in r.json()["detail"]

        r = await client.get("/v1/whoami", headers={"Authorization": "Bearer not.a.jwt"})
        assert r.status_code == 401

        other_audience = jwt.encode(
            {
                "sub": "p",
                "roles": ["citizen"],
                "aud": "elsewhere",
                "iss": real.issuer,
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
            },
            real.key,
            algorithm="EdDSA",
            headers={"kid": real.key_id},
        )
        r = await client.get("/v1/whoami", headers={"Authorization": f"Bearer {other_audience}"})
        assert r.status_code == 401


async def test_errors_are_problem_json(settings):
    async with app_client(
        create_app(settings=settings, title="t", description="t", routers=[router])
    ) as client:
        r = await client.get("/v1/missing", headers=bearer(settings, "citizen"))
        assert r.status_code == 404
        body = r.json()
        assert body["status"] == 404 and body["detail"] == "no such thing"
        assert body["type"].endswith("/not-found")
        r = await client.get("/v1/nowhere")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        r = await client.get("/metrics")
        assert "lindung_http_requests_total" in r.text


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(
        (
            parts.scheme,
            f"{netloc[0]}@{host}" if len(netloc) == 2 else host,
            parts.path,
            parts.query,
            parts.fragment,
        )
    )


async def test_readyz_follows_the_database_and_kafka(settings):
    """Outages are made by cutting a TCP proxy in front of each server, so the shared stack
    stays up for everyone else while this app sees its dependency vanish and come back."""
    pg = urlsplit(settings.database_url)
    kafka_host, kafka_port = settings.kafka_bootstrap_servers.split(",")[0].split(":")
    async with (
        TcpProxy(pg.hostname or "127.0.0.1", pg.port or 5432) as pg_proxy,
        TcpProxy(kafka_host, int(kafka_port)) as kafka_proxy,
    ):
        proxied = settings.model_copy(
            update={
                "database_url": _via(settings.database_url, pg_proxy.port),
                "kafka_bootstrap_servers": f"127.0.0.1:{kafka_proxy.port}",
            }
        )
        app = create_app(settings=proxied, title="t", description="t")
        async with app_client(app) as client:
            r = await client.get("/readyz")
            assert r.status_code == 200, r.text

            await pg_proxy.cut()
            await app.state.engine.dispose()  # drop pooled connections, as a restart would
            r = await client.get("/readyz")
            assert r.status_code == 503
            assert r.json()["checks"] == {
                "database": "unreachable",
                "kafka": "ok",
                "token_revocations": "ok",
            }
            await pg_proxy.restore()
            r = await client.get("/readyz")
            assert r.status_code == 200

            await kafka_proxy.cut()
            await _wait_for(client, 503)
            r = await client.get("/readyz")
            assert r.json()["checks"]["kafka"] == "unreachable"
            await kafka_proxy.restore()
            await _wait_for(client, 200)
            assert (await client.get("/healthz")).status_code == 200


async def _wait_for(client, status: int, seconds: float = 10) -> None:
    import asyncio

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (await client.get("/readyz")).status_code == status:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"/readyz never answered {status}")


async def test_a_cached_token_stops_working_when_its_key_is_withdrawn(settings, tmp_path):
    import json

    from lindung_shared.auth import TokenVerifier, public_jwk
    from lindung_shared.errors import Unauthorized

    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(old_key)]}))
    verifier = TokenVerifier(settings.model_copy(update={"auth_jwks_path": jwks}))
    await verifier.load()
    issuer = TokenIssuer(
        old_key,
        public_jwk(old_key)["kid"],
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
    )
    token = issuer.issue(subject="p-1", roles=["citizen"])
    assert (await verifier.verify(token)).subject == "p-1"
    assert (await verifier.verify(token)).subject == "p-1"  # served from the cache

    jwks.write_text(json.dumps({"keys": [public_jwk(new_key)]}))
    await verifier.load()
    with pytest.raises(Unauthorized):
        await verifier.verify(token)


async def test_token_keys_are_reloaded_on_a_timer(settings, tmp_path):
    """A withdrawn key stops being honoured within REFRESH_SECONDS, cached tokens included,
    without any unknown key id arriving; an unreachable key source keeps the keys in hand."""
    import json

    from lindung_shared.auth import TokenVerifier, public_jwk
    from lindung_shared.errors import Unauthorized

    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [public_jwk(old_key)]}))
    verifier = TokenVerifier(settings.model_copy(update={"auth_jwks_path": jwks}))
    await verifier.load()
    issuer = TokenIssuer(
        old_key,
        public_jwk(old_key)["kid"],
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
    )
    token = issuer.issue(subject="p-1", roles=["citizen"])
    assert (await verifier.verify(token)).subject == "p-1"

    jwks.write_text("not json")  # the source fails: the keys in hand are kept
    verifier._fetched_at -= verifier.REFRESH_SECONDS + 1
    assert (await verifier.verify(token)).subject == "p-1"

    jwks.write_text(json.dumps({"keys": [public_jwk(new_key)]}))
    assert (await verifier.verify(token)).subject == "p-1"  # not due yet: still cached
    verifier._fetched_at -= verifier.REFRESH_SECONDS + 1
    with pytest.raises(Unauthorized):
        await verifier.verify(token)
