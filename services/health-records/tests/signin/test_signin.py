"""Sign-in: a one-time code (hashed, expiring, limited attempts) exchanged for a citizen token."""

from __future__ import annotations

from lindung_health.models import SignInCode
from lindung_health.testing import open_sealed
from sqlalchemy import select, text


async def _issued_code(sessionmaker, person_id: str) -> dict:
    async with sessionmaker() as session:
        payload = (
            await session.execute(
                text(
                    "SELECT payload FROM outbox WHERE type = 'sign_in.code_issued' AND key = :k "
                    "ORDER BY id DESC LIMIT 1"
                ),
                {"k": person_id},
            )
        ).scalar_one()
    assert "code" not in payload and "phone_e164" not in payload  # sealed for the notifier
    return open_sealed(payload)


async def test_code_flow_gives_a_token_that_works_on_my_status(
    client, people, sessionmaker
) -> None:
    person = await people.register(verify=False)
    asked = await client.post("/v1/auth/otp", json={"phone": person["phone"]})
    assert asked.status_code == 202
    request_id = asked.json()["request_id"]
    event = await _issued_code(sessionmaker, person["person_id"])
    assert event["phone_e164"] == person["phone"]
    code = event["code"]

    async with sessionmaker() as session:
        stored = (
            await session.execute(
                select(SignInCode).where(SignInCode.person_id == person["person_id"])
            )
        ).scalar_one()
    assert code.encode() not in stored.code_hash  # only a keyed hash is stored

    token = await client.post("/v1/auth/token", json={"request_id": request_id, "code": code})
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["person_id"] == person["person_id"]
    status = await client.get(
        "/v1/people/me/status", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert status.status_code == 200
    assert status.json()["person_id"] == person["person_id"]
    # the code proved the phone: the NIK is bound to it now
    async with sessionmaker() as session:
        verified = (
            await session.execute(
                text("SELECT phone_verified_at FROM people WHERE id = :id"),
                {"id": person["person_id"]},
            )
        ).scalar_one()
    assert verified is not None
    # a code works once
    again = await client.post("/v1/auth/token", json={"request_id": request_id, "code": code})
    assert again.status_code == 401


async def test_wrong_codes_count_and_lock_the_code(client, people, sessionmaker) -> None:
    person = await people.register(verify=False)
    asked = await client.post("/v1/auth/otp", json={"phone": person["phone"], "nik": person["nik"]})
    request_id = asked.json()["request_id"]
    code = (await _issued_code(sessionmaker, person["person_id"]))["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        response = await client.post(
            "/v1/auth/token", json={"request_id": request_id, "code": wrong}
        )
        assert response.status_code == 401
    # the attempts were committed although each answer was an error; the right code is now refused
    locked = await client.post("/v1/auth/token", json={"request_id": request_id, "code": code})
    assert locked.status_code == 401


async def test_unknown_phone_gets_the_same_answer_and_no_code(client, sessionmaker) -> None:
    async with sessionmaker() as session:
        before = (await session.execute(text("SELECT count(*) FROM sign_in_codes"))).scalar_one()
    response = await client.post("/v1/auth/otp", json={"phone": "+6281355554444"})
    assert response.status_code == 202
    assert set(response.json()) == {"request_id", "expires_at", "delivery"}
    async with sessionmaker() as session:
        after = (await session.execute(text("SELECT count(*) FROM sign_in_codes"))).scalar_one()
    assert after == before


async def test_codes_are_rate_limited(client, people) -> None:
    person = await people.register(verify=False)
    statuses = [
        (await client.post("/v1/auth/otp", json={"phone": person["phone"]})).status_code
        for _ in range(4)
    ]
    assert statuses == [202, 202, 202, 429]


async def test_shared_phone_needs_the_nik(client, people) -> None:
    first = await people.register()
    second = await people.register(phone=first["phone"])
    ambiguous = await client.post("/v1/auth/otp", json={"phone": first["phone"]})
    assert ambiguous.status_code == 422
    assert ambiguous.json()["type"].endswith("nik-needed")
    precise = await client.post(
        "/v1/auth/otp", json={"phone": first["phone"], "nik": second["nik"]}
    )
    assert precise.status_code == 202


async def test_jwks_publishes_the_identity_key(client) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.json()["keys"][0]["kty"] == "OKP"
