"""Officer look-ups are audited; the audit log cannot be changed."""

from __future__ import annotations

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


async def test_lookup_of_unknown_nik_is_404(client, officer_headers) -> None:
    from lindung_health.testing import new_nik

    nik, _ = new_nik()
    response = await client.post(
        "/v1/people/lookup", headers=officer_headers, json={"nik": nik, "purpose": "check"}
    )
    assert response.status_code == 404
    assert nik not in response.text


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
