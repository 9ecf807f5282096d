"""Token revocation: a ``person.tokens_revoked`` event on the real topic stops the person's
older tokens on a running app within a second, and an app started afterwards refuses them
from its first request."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter
from lindung_shared.app import create_app
from lindung_shared.auth import CitizenDep, TokenIssuer
from lindung_shared.events import encode_envelope, make_event
from lindung_shared.events.catalogue import RevocationReason, TokensRevoked
from lindung_shared.kafka import create_producer
from lindung_shared.revocation import TOPIC, RevocationList
from lindung_shared.settings import ServiceSettings
from lindung_shared.testing import app_client

router = APIRouter()


@router.get("/v1/whoami")
async def whoami(principal: CitizenDep) -> dict[str, str]:
    return {"subject": principal.subject}


def _token(settings: ServiceSettings, subject: str, generation: int | None) -> dict[str, str]:
    token = TokenIssuer.development(settings).issue(
        subject=subject, roles=["citizen"], generation=generation
    )
    return {"Authorization": f"Bearer {token}"}


async def _revoke(settings: ServiceSettings, person_id: uuid.UUID, generation: int) -> None:
    event = make_event(
        "person.tokens_revoked",
        TokensRevoked(
            person_id=person_id,
            generation=generation,
            reason=RevocationReason.RECOVERY,
            revoked_at=datetime.now(UTC),
        ),
    )
    producer = create_producer(settings.kafka_bootstrap_servers, client_id="test-revoke")
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, encode_envelope(event), key=event.key.encode())
    finally:
        await producer.stop()


async def test_a_revoked_generation_is_refused_within_a_second(producer_db):
    settings = producer_db
    person, bystander = uuid.uuid4(), uuid.uuid4()
    old = _token(settings, str(person), 0)
    unmarked = _token(settings, str(person), None)  # issued before tokens carried a generation
    other = _token(settings, str(bystander), 0)
    app = create_app(settings=settings, title="t", description="t", routers=[router])
    async with app_client(app) as client:
        assert (await client.get("/readyz")).json()["checks"]["token_revocations"] == "ok"
        assert (await client.get("/v1/whoami", headers=old)).status_code == 200  # now cached

        await _revoke(settings, person, 1)
        revoked_at = time.monotonic()
        while (r := await client.get("/v1/whoami", headers=old)).status_code == 200:
            assert time.monotonic() - revoked_at < 1.0, "the revocation took over a second"
            await asyncio.sleep(0.01)
        assert r.status_code == 401
        assert r.json()["type"].endswith("token-revoked")
        assert (await client.get("/v1/whoami", headers=unmarked)).status_code == 401
        assert (await client.get("/v1/whoami", headers=other)).status_code == 200
        fresh = _token(settings, str(person), 1)
        assert (await client.get("/v1/whoami", headers=fresh)).status_code == 200

    # A process started later reads the topic whole before it serves.
    async with app_client(
        create_app(settings=settings, title="t", description="t", routers=[router])
    ) as client:
        assert (await client.get("/v1/whoami", headers=old)).status_code == 401
        assert (await client.get("/v1/whoami", headers=fresh)).status_code == 200


def test_the_floor_only_rises():
    revocations = RevocationList()
    person = uuid.uuid4()
    at = datetime.now(UTC)
    revocations.apply(
        TokensRevoked(person_id=person, generation=3, reason="recovery", revoked_at=at)
    )
    revocations.apply(
        TokensRevoked(person_id=person, generation=2, reason="recovery", revoked_at=at)
    )
    assert revocations.revoked(str(person), 2)
    assert not revocations.revoked(str(person), 3)
    assert not revocations.revoked(str(uuid.uuid4()), 0)
