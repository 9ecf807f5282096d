"""Suspected cases (PDP) from a COVID-19 Condition: flagged, confirmed (by the Condition or by
a positive result), ruled out; no colour of their own; bad Conditions refused with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lindung_health.testing import bundle, condition, immunization, new_nik, observation
from sqlalchemy import text

NOW = datetime.now(UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def _post(client, headers, *resources):
    response = await client.post("/v1/feeds/fhir", headers=headers, json=bundle(*resources))
    assert response.status_code == 200, response.text
    return response.json()


async def _events(sessionmaker, person_id: str) -> list[tuple[str, int, dict]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT type, version, payload FROM outbox WHERE key = :k "
                "AND (type LIKE 'suspect.%' OR type LIKE 'case.%') ORDER BY id"
            ),
            {"k": person_id},
        )
        return [(r.type, r.version, r.payload) for r in rows]


async def _suspects(sessionmaker, person_id: str) -> list[tuple[str, str | None]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT state, resolution FROM suspected_cases WHERE person_id = :p "
                "ORDER BY flagged_at, suspect_ref"
            ),
            {"p": person_id},
        )
        return [(r.state, r.resolution) for r in rows]


async def _vaccinated(client, headers, nik: str) -> None:
    await _post(
        client,
        headers,
        immunization(nik, ident=f"d1-{nik}", when=ago(120), dose=1),
        immunization(nik, ident=f"d2-{nik}", when=ago(90), dose=2),
    )


async def test_suspect_flagged_once_then_confirmed_by_the_condition(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik, pid = person["nik"], person["person_id"]
    await _vaccinated(client, feed_headers, nik)
    provisional = condition(nik, ident=f"pdp-{nik}", when=ago(1), version="1")
    answer = await _post(client, feed_headers, provisional)
    assert answer["entry"][0]["lindung"]["result"] == "accepted", answer
    assert answer["entry"][0]["response"]["location"].startswith("Condition/")
    # A suspect is not a colour: still green, fully vaccinated.
    status = await people.status(person)
    assert (status["colour"], status["reasons"]) == ("green", ["fully_vaccinated"])
    [(kind, version, flagged)] = await _events(sessionmaker, pid)
    assert (kind, version) == ("suspect.flagged", 1)
    assert flagged["suspect_ref"].startswith("S-") and nik not in str(flagged)
    assert datetime.fromisoformat(flagged["traced_from"]) == datetime.fromisoformat(
        flagged["suspected_at"]
    ) - timedelta(days=14)
    # The same version again (a redelivery): a duplicate, nothing new.
    assert (await _post(client, feed_headers, provisional))["duplicate"] == 1
    assert len(await _events(sessionmaker, pid)) == 1

    confirmed = condition(
        nik, ident=f"pdp-{nik}", when=ago(1), verification="confirmed", version="2"
    )
    assert (await _post(client, feed_headers, confirmed))["entry"][0]["lindung"]["action"] == (
        "replaced"
    )
    events = await _events(sessionmaker, pid)
    assert [(t, v) for t, v, _ in events] == [("suspect.flagged", 1), ("case.confirmed", 2)]
    case = events[1][2]
    assert (case["suspect_id"], case["suspect_ref"]) == (
        flagged["suspect_id"],
        flagged["suspect_ref"],
    )
    assert case["sample_taken_at"] == flagged["suspected_at"]
    assert await _suspects(sessionmaker, pid) == [("confirmed", "confirmed")]
    status = await people.status(person)
    assert (status["colour"], status["reasons"]) == ("black", ["isolation"])
    # The person reads it with their records (officers in their look-up, the same schema).
    records = (await client.get("/v1/people/me/records", headers=people.headers(person))).json()
    [suspected] = records["suspected"]
    assert (suspected["suspect_ref"], suspected["state"], suspected["resolution"]) == (
        flagged["suspect_ref"],
        "confirmed",
        "confirmed",
    )
    assert [c["case_ref"] for c in records["cases"]] == [case["case_ref"]]


async def test_a_positive_pcr_confirms_the_open_suspicion(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik, pid = person["nik"], person["person_id"]
    await _post(client, feed_headers, condition(nik, ident=f"pdp-{nik}", when=ago(2)))
    await _post(client, feed_headers, observation(nik, ident=f"pcr-{nik}", when=ago(1)))
    events = await _events(sessionmaker, pid)
    assert [(t, v) for t, v, _ in events] == [("suspect.flagged", 1), ("case.confirmed", 2)]
    assert events[1][2]["suspect_id"] == events[0][2]["suspect_id"]
    assert await _suspects(sessionmaker, pid) == [("confirmed", "confirmed")]


async def test_refuted_rules_the_suspect_out_and_entered_in_error_withdraws(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik, pid = person["nik"], person["person_id"]
    await _post(client, feed_headers, condition(nik, ident=f"a-{nik}", when=ago(3), version="1"))
    await _post(client, feed_headers, condition(nik, ident=f"b-{nik}", when=ago(2), version="1"))
    refuted = condition(nik, ident=f"a-{nik}", when=ago(3), verification="refuted", version="2")
    error = condition(nik, ident=f"b-{nik}", when=ago(2), verification="entered-in-error")
    error["meta"] = {"versionId": "2"}
    answer = await _post(client, feed_headers, refuted, error)
    assert [e["lindung"]["action"] for e in answer["entry"]] == ["replaced", "retracted"]
    events = await _events(sessionmaker, pid)
    kinds = [t for t, _, _ in events]
    assert kinds == ["suspect.flagged", "suspect.flagged", "suspect.ruled_out", "suspect.ruled_out"]
    reasons = {p["suspect_ref"]: p["reason"] for t, _, p in events if t == "suspect.ruled_out"}
    flagged_a = next(p for t, _, p in events if t == "suspect.flagged")
    assert reasons[flagged_a["suspect_ref"]] == "refuted"
    assert sorted(reasons.values()) == ["refuted", "withdrawn"]
    assert sorted(await _suspects(sessionmaker, pid)) == [
        ("ruled_out", "refuted"),
        ("ruled_out", "withdrawn"),
    ]
    # Ruled out again by a redelivery: nothing more.
    assert (await _post(client, feed_headers, refuted))["duplicate"] == 1
    assert len(await _events(sessionmaker, pid)) == 4


async def test_a_suspicion_inside_a_live_case_is_not_flagged(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik, pid = person["nik"], person["person_id"]
    await _post(client, feed_headers, observation(nik, ident=f"pcr-{nik}", when=ago(3)))
    await _post(client, feed_headers, condition(nik, ident=f"pdp-{nik}", when=ago(1)))
    assert [t for t, _, _ in await _events(sessionmaker, pid)] == ["case.confirmed"]


async def test_bad_conditions_are_rejected_with_a_reason(client, feed_headers) -> None:
    nik, _ = new_nik()
    no_verification = condition(nik, ident="c-nv", when=ago(1))
    del no_verification["verificationStatus"]
    wrong_code = condition(nik, ident="c-code", when=ago(1), code="38341003")  # hypertension
    no_date = condition(nik, ident="c-date", when=ago(1))
    del no_date["onsetDateTime"]
    malformed = condition(nik, ident="c-bad", when=ago(1))
    malformed["verificationStatus"] = "provisional"
    no_nik = condition(nik, ident="c-nik", when=ago(1))
    no_nik["subject"] = {"reference": "Patient/1"}
    cases = [
        (no_verification, "no-verification-status"),
        (wrong_code, "unknown-condition-code"),
        (no_date, "missing-date"),
        (condition(nik, ident="c-future", when=NOW + timedelta(days=1)), "future-date"),
        (malformed, "invalid-fhir"),
        (no_nik, "no-nik"),
    ]
    answer = await _post(client, feed_headers, *[c[0] for c in cases])
    got = [(e["lindung"]["result"], e["lindung"]["reason"]) for e in answer["entry"]]
    assert got == [("rejected", reason) for _, reason in cases]
    assert all(e["response"]["status"].startswith("422") for e in answer["entry"])
    assert nik not in str(answer)
