"""Registration is bound to the real holder of the NIK: the civil registry (the development
one from deploy/local/devsystems, over real HTTP) confirms NIK, full name and birth date."""

from __future__ import annotations

from datetime import date

from lindung_health.api import build_app
from lindung_health.testing import enrol_resident, new_nik
from lindung_health.toolkit import Toolkit
from lindung_shared.testing import app_client
from sqlalchemy import text


async def test_an_impostor_with_a_real_nik_is_refused_without_saying_why(client, settings) -> None:
    # Born in 2005: "1905" agrees with the NIK's digits as well, so only the registry can
    # tell the two apart.
    nik, born = new_nik(birth_date=date(2005, 3, 4))
    await enrol_resident(settings, nik, "Ratna Sari Dewi", born)
    real = {"nik": nik, "name": "Ratna Sari Dewi", "birth_date": born.isoformat()}
    wrong_name = await client.post(
        "/v1/people", json=real | {"name": "Ratna Dewi", "phone": "+6281355550001"}
    )
    wrong_date = await client.post(
        "/v1/people", json=real | {"birth_date": "1905-03-04", "phone": "+6281355550001"}
    )
    unknown_nik, unknown_born = new_nik()
    unknown = await client.post(
        "/v1/people",
        json={
            "nik": unknown_nik,
            "name": "Nobody",
            "birth_date": unknown_born.isoformat(),
            "phone": "+6281355550001",
        },
    )
    for refused in (wrong_name, wrong_date, unknown):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/identity-not-verified")
    # one answer for every failure: the problem does not say which field failed
    assert {r.json()["detail"] for r in (wrong_name, wrong_date, unknown)} == {
        wrong_name.json()["detail"]
    }
    assert "name" not in wrong_name.json()["detail"].split("NIK, full name and birth date")[1]
    ok = await client.post("/v1/people", json=real | {"phone": "+6281355550002"})
    assert ok.status_code == 201


async def test_the_name_kept_is_the_registrys(client, settings, sessionmaker) -> None:
    nik, born = new_nik()
    await enrol_resident(settings, nik, "Putri Ayu Wulandari", born)
    response = await client.post(
        "/v1/people",
        json={
            "nik": nik,
            "name": "  putri AYU   wulandari ",
            "birth_date": born.isoformat(),
            "phone": "+6281355550003",
        },
    )
    assert response.status_code == 201
    async with sessionmaker() as session:
        sealed = (
            await session.execute(
                text("SELECT name_ciphertext FROM people WHERE id = :id"),
                {"id": response.json()["person_id"]},
            )
        ).scalar_one()
    assert b"Putri" not in sealed and b"putri" not in sealed
    protector = Toolkit.from_settings(settings).protector
    assert protector.unseal(sealed, "name") == "Putri Ayu Wulandari"


async def test_registry_unreachable_is_a_503_with_retry_after_and_nothing_created(
    settings, sessionmaker
) -> None:
    with_dead_registry = settings.model_copy(
        update={"civil_registry_url": "http://127.0.0.1:9/civil-registry"}
    )
    nik, born = new_nik()
    await enrol_resident(settings, nik, "Sri Handayani", born)
    async with app_client(build_app(with_dead_registry)) as dead:
        response = await dead.post(
            "/v1/people",
            json={
                "nik": nik,
                "name": "Sri Handayani",
                "birth_date": born.isoformat(),
                "phone": "+6281355550004",
            },
        )
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["type"].endswith("/civil-registry-unavailable")
    async with sessionmaker() as session:
        count = (
            await session.execute(
                text("SELECT count(*) FROM people WHERE phone_hash = :h"),
                {"h": Toolkit.from_settings(settings).protector.phone_hash("+6281355550004")},
            )
        ).scalar_one()
    assert count == 0


async def test_a_wrong_registry_credential_is_a_503_not_a_refusal(settings) -> None:
    from pydantic import SecretStr

    wrong = settings.model_copy(update={"civil_registry_token": SecretStr("not-the-secret")})
    nik, born = new_nik()
    await enrol_resident(settings, nik, "Sri Handayani", born)
    async with app_client(build_app(wrong)) as misconfigured:
        response = await misconfigured.post(
            "/v1/people",
            json={
                "nik": nik,
                "name": "Sri Handayani",
                "birth_date": born.isoformat(),
                "phone": "+6281355550005",
            },
        )
    assert response.status_code == 503


async def test_a_phone_holds_at_most_five_people(client, people) -> None:
    phone = people.next_phone()
    for _ in range(5):
        await people.register(phone=phone)
    nik, born = new_nik()
    from lindung_health.testing import enrol_resident as enrol

    await enrol(people.settings, nik, "Anak Keenam", born)
    sixth = await client.post(
        "/v1/people",
        json={"nik": nik, "name": "Anak Keenam", "birth_date": born.isoformat(), "phone": phone},
    )
    assert sixth.status_code == 422
    assert sixth.json()["type"].endswith("/phone-full")


async def test_the_nik_is_bound_only_once_the_phone_is_proven(client, people) -> None:
    first = await people.register(verify=False)
    # Nobody proved that phone: a registration with another phone takes the NIK over.
    other_phone = people.next_phone()
    again = await client.post(
        "/v1/people",
        json={k: first[k] for k in ("nik", "name", "birth_date")} | {"phone": other_phone},
    )
    assert again.status_code == 200
    assert again.json()["person_id"] is None  # the id is learnt by signing in
    taken_over = first | {"phone": other_phone}
    token = await people.sign_in(taken_over)
    me = await client.get("/v1/people/me/status", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["person_id"] == first["person_id"]
    # Now bound: a third phone is refused, and the code goes to the proven phone only.
    third = await client.post(
        "/v1/people",
        json={k: first[k] for k in ("nik", "name", "birth_date")} | {"phone": people.next_phone()},
    )
    assert third.status_code == 409
