"""Bundles as real feeds send them: documents that carry their Patient (WHO DDCC, SATUSEHAT),
references resolved inside the Bundle, resources accepted and ignored, transactions all or
nothing, DiagnosticReports with their result Observations, ICD-11 vaccine codes, and
entered-in-error honoured only for records that count."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lindung_health.feeds.codes import ICD11, LOINC, NIK_SYSTEM, SNOMED, VACCINE_CODES
from lindung_health.testing import bundle, immunization, observation
from sqlalchemy import text

NOW = datetime.now(UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def patient(nik: str | None, pid: str = "p1") -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": pid, "name": [{"text": "X"}]}
    if nik is not None:
        resource["identifier"] = [{"system": NIK_SYSTEM, "value": nik}]
    return resource


def by_reference(resource: dict[str, Any], field: str, reference: str) -> dict[str, Any]:
    return {**resource, field: {"reference": reference}}


def entries(*pairs: tuple[str | None, dict[str, Any]], bundle_type: str) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": bundle_type,
        "entry": [{"resource": r, **({"fullUrl": url} if url else {})} for url, r in pairs],
    }


async def _post(client, headers, body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
    response = await client.post("/v1/feeds/fhir", headers=headers, json=body)
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


async def _stored(sessionmaker, ident: str) -> int:
    async with sessionmaker() as session:
        return int(
            (
                await session.execute(
                    text("SELECT count(*) FROM health_records WHERE source_key LIKE :k"),
                    {"k": f"%|{ident}"},
                )
            ).scalar_one()
        )


async def test_a_ddcc_document_resolves_its_patient_and_ignores_the_rest(
    client, people, feed_headers
) -> None:
    person = await people.register()
    nik = person["nik"]
    patient_url = f"urn:uuid:{uuid.uuid4()}"
    dose1 = immunization(
        "0", ident=f"ddcc-1-{nik}", when=ago(60), code="XM0GQ8", system=ICD11, dose=1
    )
    dose2 = immunization(
        "0", ident=f"ddcc-2-{nik}", when=ago(30), code="XM0GQ8", system=ICD11, dose=2
    )
    document = entries(
        (
            f"urn:uuid:{uuid.uuid4()}",
            {
                "resourceType": "Composition",
                "status": "final",
                "type": {"coding": [{"system": LOINC, "code": "82593-5"}]},
                "date": ago(1).isoformat(),
                "author": [{"reference": "urn:uuid:org"}],
                "title": "International Certificate of Vaccination or Prophylaxis",
                "subject": {"reference": patient_url},
            },
        ),
        (patient_url, patient(nik)),
        ("urn:uuid:org", {"resourceType": "Organization", "name": "Puskesmas"}),
        (None, by_reference(dose1, "patient", patient_url)),
        (None, by_reference(dose2, "patient", patient_url)),
        bundle_type="document",
    )
    answer = await _post(client, feed_headers, document)
    results = [e["lindung"]["result"] for e in answer["entry"]]
    assert results == ["ignored", "ignored", "ignored", "accepted", "accepted"], answer
    assert (answer["accepted"], answer["ignored"], answer["rejected"]) == (2, 3, 0)
    assert answer["entry"][0]["response"]["status"] == "200 OK"
    assert (await people.status(person))["colour"] == "green"
    assert VACCINE_CODES[ICD11]["XM0GQ8"] == "COVID-19 vaccine, RNA based"


async def test_a_bad_entry_of_a_collection_rejects_only_itself(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik = person["nik"]
    good = by_reference(
        immunization("0", ident=f"coll-g-{nik}", when=ago(20), dose=1), "patient", "Patient/p9"
    )
    unknown_code = immunization(nik, ident=f"coll-b-{nik}", when=ago(20), code="999")
    no_nik_patient = by_reference(
        immunization("0", ident=f"coll-n-{nik}", when=ago(20)), "patient", "Patient/nonik"
    )
    dangling = by_reference(
        immunization("0", ident=f"coll-d-{nik}", when=ago(20)), "patient", "Patient/elsewhere"
    )
    body = entries(
        ("https://fhir.example.id/Patient/p9", patient(nik, "p9")),
        (None, patient(None, "nonik")),
        (None, good),
        (None, unknown_code),
        (None, no_nik_patient),
        (None, dangling),
        (None, {"resourceType": "Claim", "id": "c"}),
        bundle_type="collection",
    )
    answer = await _post(client, feed_headers, body)
    verdicts = [(e["lindung"]["result"], e["lindung"].get("reason")) for e in answer["entry"]]
    assert verdicts == [
        ("ignored", None),
        ("ignored", None),
        ("accepted", None),
        ("rejected", "unknown-vaccine-code"),
        ("rejected", "no-nik"),
        ("rejected", "no-nik"),
        ("rejected", "unsupported-resource"),
    ], verdicts
    assert "without a NIK" in answer["entry"][4]["lindung"]["message"]
    assert await _stored(sessionmaker, f"coll-g-{nik}") == 1
    assert (await people.status(person))["colour"] == "yellow"


async def test_a_transaction_is_all_or_nothing(client, people, feed_headers, sessionmaker) -> None:
    person = await people.register()
    nik = person["nik"]
    good = immunization(nik, ident=f"tx-g-{nik}", when=ago(20), dose=1)
    bad = immunization(nik, ident=f"tx-b-{nik}", when=ago(20), code="999")
    failed = await _post(
        client, feed_headers, bundle(good, bad, bundle_type="transaction"), expect=422
    )
    assert failed["type"].endswith("/transaction-rejected")
    assert "1" in failed["detail"]
    assert [e["lindung"].get("reason") for e in failed["entry"]] == [
        "transaction-failed",
        "unknown-vaccine-code",
    ]
    assert await _stored(sessionmaker, f"tx-g-{nik}") == 0
    assert (await people.status(person))["colour"] == "red"

    ok = await _post(client, feed_headers, bundle(good, bundle_type="transaction"))
    assert ok["type"] == "transaction-response"
    assert ok["entry"][0]["lindung"]["action"] == "created"
    assert (await people.status(person))["colour"] == "yellow"


def _report(nik: str | None, ident: str, results: list[str], **extra: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": "https://lab.example.id/report", "value": ident}],
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "94500-6"}]},
        "effectiveDateTime": ago(1).isoformat(),
        "result": [{"reference": r} for r in results],
        **extra,
    }
    if nik is not None:
        report["subject"] = {"identifier": {"system": NIK_SYSTEM, "value": nik}}
    return report


async def test_a_diagnostic_report_with_its_result_observations(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik = person["nik"]
    result = observation(nik, ident=f"dr-o-{nik}", when=ago(1), result="positive")
    del result["subject"], result["effectiveDateTime"]  # both come from the report
    body = entries(
        (None, _report(nik, f"dr-{nik}", ["urn:uuid:obs-1"])),
        ("urn:uuid:obs-1", result),
        bundle_type="batch",
    )
    answer = await _post(client, feed_headers, body)
    assert [e["lindung"]["result"] for e in answer["entry"]] == ["ignored", "accepted"]
    assert "entries 1" in answer["entry"][0]["lindung"]["message"]
    status = await people.status(person)
    assert (status["colour"], status["reasons"]) == ("black", ["isolation"])


async def test_a_diagnostic_report_alone_is_the_record(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik = person["nik"]
    negative = {"coding": [{"system": SNOMED, "code": "260385009"}]}
    report = _report(nik, f"dr-alone-{nik}", [], conclusionCode=[negative])
    del report["result"]
    answer = await _post(client, feed_headers, bundle(report))
    assert answer["entry"][0]["lindung"]["result"] == "accepted", answer
    assert answer["entry"][0]["response"]["location"].startswith("DiagnosticReport/")
    status = await people.status(person)
    assert (status["colour"], status["reasons"]) == ("green", ["negative_test"])
    no_result = _report(nik, f"dr-none-{nik}", [])
    del no_result["result"]
    rejected = await _post(client, feed_headers, bundle(no_result))
    assert rejected["entry"][0]["lindung"]["reason"] == "no-result"


async def test_entered_in_error_counts_only_for_records_that_count(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    nik = person["nik"]
    positive = observation(nik, ident=f"eie-{nik}", when=ago(1))
    await _post(client, feed_headers, bundle(positive))
    assert (await people.status(person))["colour"] == "black"
    # A body temperature (LOINC 8310-5) with the same identifier, entered in error: not a test
    # Lindung keeps, so it retracts nothing.
    temperature = {
        **observation(nik, ident=f"eie-{nik}", when=ago(1), status="entered-in-error"),
        "code": {"coding": [{"system": LOINC, "code": "8310-5"}]},
        "valueQuantity": {"value": 37.2, "unit": "Cel"},
    }
    del temperature["valueCodeableConcept"]
    answer = await _post(client, feed_headers, bundle(temperature))
    assert answer["entry"][0]["lindung"]["reason"] == "unknown-loinc-code"
    assert (await people.status(person))["colour"] == "black"
    # The test itself entered in error is honoured.
    retraction = observation(nik, ident=f"eie-{nik}", when=ago(1), status="entered-in-error")
    answer = await _post(client, feed_headers, bundle(retraction))
    assert answer["entry"][0]["lindung"]["action"] == "retracted"
    assert (await people.status(person))["colour"] != "black"
