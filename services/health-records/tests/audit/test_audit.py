"""Officer look-ups are audited; the audit log cannot be changed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


async def test_lookup_by_nik_in_the_body_is_audited(
    client, people, officer_headers, settings
) -> None:
    from lindung_shared.testing import bearer

    person = await people.register()
    response = await client.post(
        "/v1/people/lookup",
        headers=officer_headers,
        json={"nik": person["nik"], "purpose": "tracing case C-TEST"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["person_id"] == person["person_id"]
    assert body["nik"] == person["nik"]  # decrypted for the officer
    assert body["status"]["colour"] == "red"

    audit = await client.get(
        "/v1/audit", headers=officer_headers, params={"person_id": person["person_id"]}
    )
    entries = audit.json()["entries"]
    assert [(e["officer_id"], e["action"], e["purpose"]) for e in entries] == [
        ("officer-1", "person.lookup", "tracing case C-TEST")
    ]
    citizen = people.headers(person)
    assert (
        await client.post(
            "/v1/people/lookup", headers=citizen, json={"nik": person["nik"], "purpose": "x" * 5}
        )
    ).status_code == 403
    assert (await client.get("/v1/audit", headers=citizen)).status_code == 403
    feed = bearer(settings, "feed", "f")
    assert (await client.get("/v1/audit", headers=feed)).status_code == 403


async def test_lookup_of_unknown_nik_is_404_and_audited(client, settings) -> None:
    from lindung_health.testing import new_nik
    from lindung_shared.testing import bearer

    officer = f"officer-{uuid.uuid4().hex[:8]}"
    headers = bearer(settings, "health_officer", officer)
    nik, _ = new_nik()
    response = await client.post(
        "/v1/people/lookup", headers=headers, json={"nik": nik, "purpose": "fishing for NIKs"}
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert nik not in response.text
    entries = (await client.get("/v1/audit", headers=headers)).json()["entries"]
    assert [(e["officer_id"], e["action"], e["purpose"], e["person_id"]) for e in entries] == [
        (officer, "person.lookup.unknown", "fishing for NIKs", None)
    ]


async def test_lookups_stay_within_the_officers_jurisdiction(client, people, settings) -> None:
    """The NIK's regency (its first four digits, 3171 for the test people) decides."""
    from lindung_shared.jurisdiction import Jurisdiction
    from lindung_shared.testing import bearer

    person = await people.register()
    assert person["nik"].startswith("3171")
    body = {"nik": person["nik"], "purpose": "tracing"}
    bandung = bearer(
        settings, "health_officer", "officer-bdg", jurisdiction=Jurisdiction.parse("regencies:3273")
    )
    refused = await client.post("/v1/people/lookup", headers=bandung, json=body)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("outside-jurisdiction")
    assert person["nik"] not in refused.text
    jakarta = bearer(
        settings, "health_officer", "officer-jkt", jurisdiction=Jurisdiction.parse("provinces:31")
    )
    assert (await client.post("/v1/people/lookup", headers=jakarta, json=body)).status_code == 200
    # an officer reads their own trail; an admin reads everyone's
    mine = (await client.get("/v1/audit", headers=jakarta, params={"officer_id": "x"})).json()
    assert {e["officer_id"] for e in mine["entries"]} == {"officer-jkt"}
    admin = bearer(settings, "admin", "admin-1")
    every = (await client.get("/v1/audit", headers=admin, params={"limit": 500})).json()
    assert "officer-jkt" in {e["officer_id"] for e in every["entries"]}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE officer_audit SET purpose = 'x'",
        "DELETE FROM officer_audit",
        "TRUNCATE officer_audit",
    ],
)
async def test_audit_rows_cannot_be_changed(
    client, people, officer_headers, sessionmaker, statement
) -> None:
    person = await people.register()
    await client.post(
        "/v1/people/lookup",
        headers=officer_headers,
        json={"nik": person["nik"], "purpose": "check"},
    )
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin():
                await session.execute(text(statement))
