"""Phone change, officer recovery and sign-out everywhere: a code proves the new phone, the
old number is told, and every earlier token stops working (the revocation event goes from
the outbox over the real topic to the API's revocation list within a second).

The worker's outbox relay is not run here: it deletes what it publishes, and these tests read
the codes from the outbox. ``revocations`` publishes the outbox's ``person.tokens_revoked``
rows the way the relay does (the whole path, relay included, is the end-to-end test's)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from lindung_health.testing import open_sealed
from lindung_shared.events import encode_envelope, make_event
from lindung_shared.events.catalogue import TokensRevoked
from lindung_shared.kafka import create_producer
from lindung_shared.revocation import TOPIC
from lindung_shared.testing import bearer, unique
from sqlalchemy import text


class Revocations:
    def __init__(self, producer, sessionmaker) -> None:  # type: ignore[no-untyped-def]
        self.producer, self.sessionmaker = producer, sessionmaker
        self.sent: set[int] = set()

    async def publish(self) -> None:
        async with self.sessionmaker() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT id, event_id, payload FROM outbox "
                        "WHERE type = 'person.tokens_revoked' ORDER BY id"
                    )
                )
            ).all()
        for row_id, event_id, payload in rows:
            if row_id in self.sent:
                continue
            event = make_event(
                "person.tokens_revoked", TokensRevoked.model_validate(payload), event_id=event_id
            )
            await self.producer.send_and_wait(TOPIC, encode_envelope(event), key=event.key.encode())
            self.sent.add(row_id)


@pytest.fixture(scope="module")
async def relay(settings, sessionmaker) -> AsyncIterator[Revocations]:
    producer = create_producer(settings.kafka_bootstrap_servers, client_id=unique("hr-revoke"))
    await producer.start()
    try:
        yield Revocations(producer, sessionmaker)
    finally:
        await producer.stop()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _last_event(sessionmaker, event_type: str, person_id: str) -> dict[str, Any]:
    async with sessionmaker() as session:
        payload: dict[str, Any] = (
            await session.execute(
                text(
                    "SELECT payload FROM outbox WHERE type = :t AND key = :k "
                    "ORDER BY id DESC LIMIT 1"
                ),
                {"t": event_type, "k": person_id},
            )
        ).scalar_one()
    return open_sealed(payload)


async def _refused_within_a_second(client, relay: Revocations, token: str) -> None:
    started = time.monotonic()
    await relay.publish()
    while (r := await client.get("/v1/people/me/status", headers=_auth(token))).status_code == 200:
        assert time.monotonic() - started < 1.0, "the token still worked a second later"
        await asyncio.sleep(0.01)
    assert r.status_code == 401, r.text
    assert r.json()["type"].endswith("token-revoked")


async def test_a_phone_change_needs_a_code_from_the_new_number(
    client, people, sessionmaker, relay
) -> None:
    person = await people.register(verify=False)
    old_token = await people.sign_in(person)
    patched = await client.patch(
        "/v1/people/me", json={"phone": people.next_phone()}, headers=_auth(old_token)
    )
    assert patched.status_code == 422
    assert patched.json()["type"].endswith("phone-needs-code")

    new_phone = people.next_phone()
    asked = await client.post(
        "/v1/people/me/phone", json={"phone": new_phone}, headers=_auth(old_token)
    )
    assert asked.status_code == 202, asked.text
    sent = await _last_event(sessionmaker, "sign_in.code_issued", person["person_id"])
    assert sent["phone_e164"] == new_phone
    request_id = asked.json()["request_id"]
    wrong = "000000" if sent["code"] != "000000" else "111111"
    refused = await client.post(
        "/v1/people/me/phone/confirm",
        json={"request_id": request_id, "code": wrong},
        headers=_auth(old_token),
    )
    assert refused.status_code == 401
    # The code cannot be used to sign in: it was sent for the phone change.
    signin = await client.post(
        "/v1/auth/token", json={"request_id": request_id, "code": sent["code"]}
    )
    assert signin.status_code == 401

    changed = await client.post(
        "/v1/people/me/phone/confirm",
        json={"request_id": request_id, "code": sent["code"]},
        headers=_auth(old_token),
    )
    assert changed.status_code == 200, changed.text
    new_token = changed.json()["access_token"]
    told = await _last_event(sessionmaker, "person.phone_changed", person["person_id"])
    assert told["old_phone_e164"] == person["phone"] and told["by"] == "person"
    contact = await _last_event(sessionmaker, "person.contact_changed", person["person_id"])
    assert contact["phone_e164"] == new_phone

    await _refused_within_a_second(client, relay, old_token)
    mine = await client.get("/v1/people/me/status", headers=_auth(new_token))
    assert mine.status_code == 200
    # Signing in now goes through the new number only.
    person["phone"] = new_phone
    assert await people.sign_in(person)


async def test_an_officer_recovers_a_nik_taken_by_another_phone(
    client, people, sessionmaker, relay, settings
) -> None:
    impostor = await people.register(verify=False)
    impostor_token = await people.sign_in(impostor)
    holder_phone = people.next_phone()
    taken = await client.post(
        "/v1/people",
        json={**{k: impostor[k] for k in ("nik", "name", "birth_date")}, "phone": holder_phone},
    )
    assert taken.status_code == 409

    officer = bearer(settings, "health_officer", "officer-recovery")
    other_officer = bearer(settings, "health_officer", "officer-other")
    assert (
        await client.post(
            "/v1/people/recovery",
            json={"nik": impostor["nik"], "phone": holder_phone, "purpose": "x"},
            headers=_auth(impostor_token),
        )
    ).status_code == 403
    started = await client.post(
        "/v1/people/recovery",
        json={"nik": impostor["nik"], "phone": holder_phone, "purpose": "KTP seen at Puskesmas"},
        headers=officer,
    )
    assert started.status_code == 202, started.text
    request_id = started.json()["request_id"]
    sent = await _last_event(sessionmaker, "sign_in.code_issued", impostor["person_id"])
    assert sent["phone_e164"] == holder_phone
    by_another = await client.post(
        f"/v1/people/recovery/{request_id}/confirm",
        json={"code": sent["code"], "purpose": "code read by the holder"},
        headers=other_officer,
    )
    assert by_another.status_code == 401  # only the officer who started it
    done = await client.post(
        f"/v1/people/recovery/{request_id}/confirm",
        json={"code": sent["code"], "purpose": "code read by the holder"},
        headers=officer,
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"person_id": impostor["person_id"], "tokens_revoked": True}

    await _refused_within_a_second(client, relay, impostor_token)
    told = await _last_event(sessionmaker, "person.phone_changed", impostor["person_id"])
    assert told["old_phone_e164"] == impostor["phone"] and told["by"] == "officer"
    # The holder signs in with their own phone now; the impostor's phone no longer can.
    holder = {**impostor, "phone": holder_phone}
    holder_token = await people.sign_in(holder)
    assert (
        await client.get("/v1/people/me/status", headers=_auth(holder_token))
    ).status_code == 200
    async with sessionmaker() as session:
        actions = [
            tuple(row)
            for row in await session.execute(
                text(
                    "SELECT action, officer_id, purpose FROM officer_audit "
                    "WHERE person_id = :p ORDER BY id"
                ),
                {"p": impostor["person_id"]},
            )
        ]
    assert actions == [
        ("person.recovery_started", "officer-recovery", "KTP seen at Puskesmas"),
        ("person.recovered", "officer-recovery", "code read by the holder"),
    ]


async def test_sign_out_everywhere_revokes_every_token_so_far(client, people, relay) -> None:
    person = await people.register(verify=False)
    first = await people.sign_in(person)
    second = await people.sign_in(person)
    out = await client.post("/v1/auth/sign-out-everywhere", headers=_auth(second))
    assert out.status_code == 204
    await _refused_within_a_second(client, relay, first)
    await _refused_within_a_second(client, relay, second)
    again = await people.sign_in(person)
    assert (await client.get("/v1/people/me/status", headers=_auth(again))).status_code == 200
