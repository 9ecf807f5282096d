"""The HTTP door of the feeds: per-entry answers, idempotency, versions, retractions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lindung_health.feeds.service import ingest
from lindung_health.testing import bundle, immunization, new_nik, observation
from lindung_health.toolkit import Toolkit
from sqlalchemy import text

NOW = datetime.now(UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def _post(client, headers, *resources, **kw):
    response = await client.post("/v1/feeds/fhir", headers=headers, json=bundle(*resources, **kw))
    assert response.status_code == 200, response.text
    return response.json()


async def _events(sessionmaker, event_type: str, person_id: str) -> list[dict]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text("SELECT payload FROM outbox WHERE type = :t AND key = :k ORDER BY id"),
            {"t": event_type, "k": person_id},
        )
        return list(rows.scalars().all())


async def test_answers_each_entry(client, people, feed_headers) -> None:
    person = await people.register()
    nik = person["nik"]
    good = immunization(nik, ident=f"v1-{nik}", when=ago(40), dose=1)
    answer = await _post(
        client,
        feed_headers,
        good,
        observation(nik, ident=f"o1-{nik}", when=ago(1), loinc="12345-6"),
        good,
    )
    assert answer["resourceType"] == "Bundle" and answer["type"] == "batch-response"
    verdicts = [e["lindung"]["result"] for e in answer["entry"]]
    assert verdicts == ["accepted", "rejected", "duplicate"]
    assert answer["entry"][0]["response"]["status"] == "201 Created"
    assert answer["entry"][0]["response"]["location"].startswith("Immunization/")
    rejected = answer["entry"][1]
    assert rejected["response"]["status"] == "422 Unprocessable Entity"
    assert rejected["lindung"]["reason"] == "unknown-loinc-code"
    assert "12345-6" in rejected["response"]["outcome"]["issue"][0]["diagnostics"]
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (1, 1, 1)
    assert (await people.status(person))["colour"] == "yellow"


async def test_bad_input_has_precise_rejections(client, feed_headers) -> None:
    nik, _ = new_nik()
    bad_region = "9999" + nik[4:]
    bad_date = nik[:6] + "35" + nik[8:]
    no_nik = immunization(nik, ident="x-no-nik", when=ago(3))
    no_nik["patient"] = {"reference": "Patient/123"}
    no_ident = observation(nik, ident="x", when=ago(1))
    del no_ident["identifier"]
    malformed = immunization(nik, ident="x-malformed", when=ago(3))
    malformed["vaccineCode"] = "511"
    cases = [
        (immunization(nik, ident="x-future", when=NOW + timedelta(days=2)), "future-date"),
        (observation(nik, ident="x-future-o", when=NOW + timedelta(hours=3)), "future-date"),
        (immunization(nik, ident="x-vaccine", when=ago(3), code="999"), "unknown-vaccine-code"),
        (observation(nik, ident="x-loinc", when=ago(1), loinc="94531-1"), "unknown-loinc-code"),
        (immunization(bad_region, ident="x-region", when=ago(3)), "invalid-nik"),
        (observation(bad_date, ident="x-date", when=ago(1)), "invalid-nik"),
        (no_nik, "no-nik"),
        (no_ident, "no-source-identifier"),
        (malformed, "invalid-fhir"),
        (observation(nik, ident="x-prelim", when=ago(1), status="preliminary"), "not-final"),
        (observation(nik, ident="x-result", when=ago(1), result="123"), "no-result"),
        ({"resourceType": "Claim", "id": "p"}, "unsupported-resource"),
        (immunization(nik, ident="x-partial", when="2021-07"), "missing-date"),
    ]
    answer = await _post(client, feed_headers, *[c[0] for c in cases])
    got = [(e["lindung"]["result"], e["lindung"]["reason"]) for e in answer["entry"]]
    assert got == [("rejected", reason) for _, reason in cases]
    assert nik not in str(answer) and bad_region not in str(answer)


async def test_not_a_bundle_and_roles(client, feed_headers, people) -> None:
    nik, _ = new_nik()
    single = immunization(nik, ident="single", when=ago(3))
    response = await client.post("/v1/feeds/fhir", headers=feed_headers, json=single)
    assert response.status_code == 422
    assert response.json()["type"].endswith("not-a-bundle")
    person = await people.register()
    denied = await client.post(
        "/v1/feeds/fhir", headers=people.headers(person), json=bundle(single)
    )
    assert denied.status_code == 403


async def test_later_version_replaces_and_stale_is_duplicate(client, people, feed_headers) -> None:
    person = await people.register()
    nik = person["nik"]
    v1 = observation(nik, ident=f"lab-{nik}", when=ago(1), result="negative", version="1")
    v2 = observation(
        nik, ident=f"lab-{nik}", when=ago(1), result="negative", loinc="94558-4", version="2"
    )
    assert (await _post(client, feed_headers, v1))["accepted"] == 1
    assert (await people.status(person))["reasons"] == ["negative_test"]
    replaced = await _post(client, feed_headers, v2)
    assert replaced["entry"][0]["lindung"]["action"] == "replaced"
    stale = await _post(client, feed_headers, v1)
    assert stale["entry"][0]["lindung"]["result"] == "duplicate"
    records = (await client.get("/v1/people/me/records", headers=people.headers(person))).json()
    assert [(t["loinc_code"], t["test_type"]) for t in records["tests"]] == [("94558-4", "antigen")]


async def test_positive_confirms_a_case_and_retraction_recomputes(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik, pid = person["nik"], person["person_id"]
    sampled = ago(2)
    positive = observation(nik, ident=f"pos-{nik}", when=sampled, last_updated=ago(1).isoformat())
    await _post(client, feed_headers, positive)
    status = await people.status(person)
    assert (status["colour"], status["reasons"]) == ("black", ["isolation"])
    assert datetime.fromisoformat(status["valid_until"]) == sampled.replace(
        microsecond=sampled.microsecond
    ) + timedelta(days=10)
    confirmed = await _events(sessionmaker, "case.confirmed", pid)
    assert len(confirmed) == 1
    case = confirmed[0]
    assert case["case_ref"].startswith("C-") and len(case["case_ref"]) == 10
    # The default rule traces the seed's 14 days before the sample.
    assert datetime.fromisoformat(case["infectious_from"]) == datetime.fromisoformat(
        case["sample_taken_at"]
    ) - timedelta(days=14)
    # replaying the same result changes nothing
    assert (await _post(client, feed_headers, positive))["duplicate"] == 1
    assert len(await _events(sessionmaker, "case.confirmed", pid)) == 1

    retraction = observation(
        nik,
        ident=f"pos-{nik}",
        when=sampled,
        status="entered-in-error",
        last_updated=NOW.isoformat(),
    )
    answer = await _post(client, feed_headers, retraction)
    assert answer["entry"][0]["lindung"]["action"] == "retracted"
    assert (await people.status(person))["colour"] == "red"
    retracted = await _events(sessionmaker, "case.retracted", pid)
    assert [r["case_ref"] for r in retracted] == [case["case_ref"]]
    colours = [e["colour"] for e in await _events(sessionmaker, "status.changed", pid)]
    assert colours == ["red", "black", "red"]
    records = (await client.get("/v1/people/me/records", headers=people.headers(person))).json()
    assert records["tests"][0]["retracted"] is True
    assert records["cases"][0]["retracted"] is True


async def test_vaccination_retraction_lowers_the_colour(client, people, feed_headers) -> None:
    person = await people.register()
    nik = person["nik"]
    first = immunization(nik, ident=f"d1-{nik}", when=ago(60), dose=1)
    second = immunization(nik, ident=f"d2-{nik}", when=ago(30), dose=2)
    await _post(client, feed_headers, first, second)
    assert (await people.status(person))["colour"] == "green"
    wrong = immunization(nik, ident=f"d2-{nik}", when=ago(30), dose=2, status="entered-in-error")
    await _post(client, feed_headers, wrong)
    assert (await people.status(person))["colour"] == "yellow"


async def test_interpretation_codes_and_snomed_vaccines(client, people, feed_headers) -> None:
    person = await people.register()
    nik = person["nik"]
    await _post(
        client,
        feed_headers,
        immunization(
            nik, ident=f"s1-{nik}", when=ago(60), code="1119349007", system="http://snomed.info/sct"
        ),
        observation(
            nik,
            ident=f"i1-{nik}",
            when=ago(0.5),
            result="negative",
            loinc="94309-2",
            via_interpretation=True,
        ),
    )
    status = await people.status(person)
    assert (status["colour"], status["reasons"]) == ("green", ["negative_test"])


async def test_positive_corrected_to_negative_retracts_the_case(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik, pid = person["nik"], person["person_id"]
    ident = f"corr-{nik}"
    await _post(client, feed_headers, observation(nik, ident=ident, when=ago(1), version="1"))
    assert (await people.status(person))["colour"] == "black"
    corrected = observation(
        nik, ident=ident, when=ago(1), result="negative", status="corrected", version="2"
    )
    answer = await _post(client, feed_headers, corrected)
    assert answer["entry"][0]["lindung"]["action"] == "replaced"
    status = await people.status(person)
    assert (status["colour"], status["reasons"]) == ("green", ["negative_test"])
    confirmed = await _events(sessionmaker, "case.confirmed", pid)
    retracted = await _events(sessionmaker, "case.retracted", pid)
    assert [c["case_id"] for c in confirmed] == [r["case_id"] for r in retracted]


async def test_an_infectious_period_rule_traces_from_its_start(
    client, people, admin_headers, settings, sessionmaker
) -> None:
    """The window of the infectious period stays a rule version admins can publish: cases
    confirmed while it is in force are traced from 2 days before the sample."""
    # A version in force for one day far ahead, so it decides only what this test feeds in.
    day = datetime(2098, 3, 1, tzinfo=UTC)
    published = await client.post(
        "/v1/rules",
        headers=admin_headers,
        json={
            "reason": "the infectious-period window, for this test",
            "id": "2098-03-v1",
            "valid_from": day.isoformat(),
            "valid_to": (day + timedelta(days=1)).isoformat(),
            "parameters": {"contact_window": "infectious_period"},
        },
    )
    assert published.status_code == 201, published.text
    assert published.json()["parameters"]["infectious_days_before_sample"] == 2
    person = await people.register()
    positive = observation(person["nik"], ident=f"ip-{person['nik']}", when=day)
    tk = Toolkit.from_settings(settings)
    try:
        async with sessionmaker() as session, session.begin():
            outcomes = await ingest(
                session, tk, bundle(positive), "laboratory", day + timedelta(hours=6)
            )
    finally:
        # Its boundaries would otherwise schedule every later status's recomputation in 2098.
        async with sessionmaker() as session, session.begin():
            await session.execute(text("DELETE FROM screening_rules WHERE id = '2098-03-v1'"))
            await session.execute(
                text("UPDATE person_status SET due_at = NULL WHERE due_at >= '2098-01-01'")
            )
    assert [o.action for o in outcomes] == ["created"]
    [case] = await _events(sessionmaker, "case.confirmed", person["person_id"])
    assert datetime.fromisoformat(case["infectious_from"]) == day - timedelta(days=2)
    assert datetime.fromisoformat(case["infectious_until"]) == day + timedelta(days=10)
