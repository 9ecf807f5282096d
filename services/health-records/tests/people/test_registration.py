"""Registration through the API: validation, idempotency by NIK, linking of earlier records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from lindung_health.people.nik import nik_for
from lindung_health.testing import bundle, enrol_resident, immunization, new_nik, open_sealed
from sqlalchemy import text


async def test_register_returns_a_person_with_a_red_status(client, people) -> None:
    person = await people.register()
    status = await people.status(person)
    assert status["colour"] == "red"
    assert status["reasons"] == ["unvaccinated"]
    assert status["rule_version"]  # the version in force (another test may publish one)
    assert status["person_id"] == person["person_id"]


async def test_same_nik_again_is_the_same_person_without_disclosing_its_id(
    client, people, sessionmaker
) -> None:
    """Knowing a NIK and its phone (and the civil registry's name and birth date) is not
    enough to learn the person's id: 200 created false, person_id null, nothing new."""
    person = await people.register()
    async with sessionmaker() as session:
        before = (await session.execute(text("SELECT count(*) FROM people"))).scalar_one()
    again = await client.post(
        "/v1/people",
        json={k: person[k] for k in ("nik", "name", "birth_date")} | {"phone": person["phone"]},
    )
    assert again.status_code == 200
    assert again.json() == {"person_id": None, "created": False}
    assert person["person_id"] not in again.text
    async with sessionmaker() as session:
        after = (await session.execute(text("SELECT count(*) FROM people"))).scalar_one()
    assert after == before
    # local form of the same phone number is the same phone
    local = "0" + person["phone"][3:]
    again = await client.post(
        "/v1/people", json={**{k: person[k] for k in ("nik", "name", "birth_date")}, "phone": local}
    )
    assert again.status_code == 200
    other_phone = await client.post(
        "/v1/people",
        json={**{k: person[k] for k in ("nik", "name", "birth_date")}, "phone": "+6281311112222"},
    )
    assert other_phone.status_code == 409
    assert other_phone.json()["type"].endswith("nik-registered-other-phone")


async def test_stores_the_nik_only_as_hash_and_ciphertext(client, people, sessionmaker) -> None:
    person = await people.register()
    async with sessionmaker() as session:
        row = (
            await session.execute(
                text("SELECT nik_hash, nik_ciphertext FROM people WHERE id = :id"),
                {"id": person["person_id"]},
            )
        ).one()
    assert person["nik"].encode() not in row.nik_hash + row.nik_ciphertext
    assert len(row.nik_hash) == 32


async def test_invalid_input_is_rejected_precisely(client, settings) -> None:
    nik, born = new_nik(birth_date=date(1990, 5, 17))
    base = {"nik": nik, "name": "A", "birth_date": born.isoformat(), "phone": "+6281234567890"}
    cases = [
        ({"birth_date": "1990-05-18"}, "nik-birth-date-mismatch"),
        ({"nik": "9999" + nik[4:]}, "nik-province"),
        ({"nik": "3199" + nik[4:]}, "nik-regency"),
        ({"nik": nik[:6] + "35" + nik[8:]}, "nik-birth-date"),
        ({"phone": "+62 12"}, "invalid-phone"),
        ({"phone": "not a phone"}, "invalid-phone"),
    ]
    for change, code in cases:
        response = await client.post("/v1/people", json={**base, **change})
        assert response.status_code == 422, (change, response.text)
        body = response.json()
        assert body["type"].endswith(code), (change, body)
        assert nik not in response.text and "1234567890" not in body["detail"]
    short = await client.post("/v1/people", json={**base, "nik": "123"})
    assert short.status_code == 422
    woman = nik_for("3171", "01", date(1990, 5, 17), "F", 77)
    assert woman[6:8] == "57"
    await enrol_resident(settings, woman, "A", date(1990, 5, 17))
    ok = await client.post("/v1/people", json={**base, "nik": woman})
    assert ok.status_code in (200, 201)


async def test_records_before_registration_are_linked(client, people, feed_headers) -> None:
    nik, born = new_nik()
    now = datetime.now(UTC)
    sent = await client.post(
        "/v1/feeds/fhir",
        headers=feed_headers,
        json=bundle(
            immunization(nik, ident=f"pre-{nik}-1", when=now - timedelta(days=90), dose=1),
            immunization(nik, ident=f"pre-{nik}-2", when=now - timedelta(days=60), dose=2),
        ),
    )
    assert sent.json()["accepted"] == 2
    person = await people.register(nik=nik, birth_date=born)
    status = await people.status(person)
    assert status["colour"] == "green"
    records = await client.get("/v1/people/me/records", headers=people.headers(person))
    assert [v["dose_number"] for v in records.json()["vaccinations"]] == [1, 2]


async def test_contact_change_emits_an_event(client, people, sessionmaker) -> None:
    """The language changes at once; a new phone only with a code (people/test_recovery)."""
    person = await people.register()
    response = await client.patch(
        "/v1/people/me", headers=people.headers(person), json={"language": "en"}
    )
    assert response.status_code == 200
    async with sessionmaker() as session:
        payloads = (
            (
                await session.execute(
                    text(
                        "SELECT payload FROM outbox WHERE type = 'person.contact_changed' AND key = :k ORDER BY id"
                    ),
                    {"k": person["person_id"]},
                )
            )
            .scalars()
            .all()
        )
    assert [open_sealed(p)["phone_e164"] for p in payloads] == [person["phone"]] * 2
    assert not any(person["phone"] in str(p) for p in payloads)  # sealed for the notifier
    assert [p["language"] for p in payloads] == ["id", "en"]


async def test_me_endpoints_need_a_citizen_token(client, settings) -> None:
    from lindung_shared.testing import bearer

    assert (await client.get("/v1/people/me/status")).status_code == 401
    officer = bearer(settings, "health_officer", "o-1")
    assert (await client.get("/v1/people/me/status", headers=officer)).status_code == 403
    stranger = bearer(settings, "citizen", "5b0a4c2e-3f9b-4d6e-9a51-2f8f6f1d7c10")
    assert (await client.get("/v1/people/me/status", headers=stranger)).status_code == 404


async def test_concurrent_registrations_of_one_nik_make_one_person(client, settings) -> None:
    import asyncio

    nik, born = new_nik()
    await enrol_resident(settings, nik, "Twin", born)
    body = {"nik": nik, "name": "Twin", "birth_date": born.isoformat(), "phone": "+6281377776666"}
    responses = await asyncio.gather(*(client.post("/v1/people", json=body) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    # Only the request that created the person learns its id.
    ids = [r.json()["person_id"] for r in sorted(responses, key=lambda r: r.status_code)]
    assert ids[:3] == [None, None, None] and ids[3] is not None


async def test_a_positive_received_before_registration_confirms_a_case_at_registration(
    client, people, feed_headers, sessionmaker
) -> None:
    from lindung_health.testing import observation

    nik, born = new_nik()
    positive = observation(nik, ident=f"early-{nik}", when=datetime.now(UTC) - timedelta(days=1))
    await client.post("/v1/feeds/fhir", headers=feed_headers, json=bundle(positive))
    person = await people.register(nik=nik, birth_date=born)
    assert (await people.status(person))["reasons"] == ["isolation"]
    async with sessionmaker() as session:
        cases = (
            await session.execute(
                text("SELECT count(*) FROM outbox WHERE type = 'case.confirmed' AND key = :k"),
                {"k": person["person_id"]},
            )
        ).scalar_one()
    assert cases == 1
