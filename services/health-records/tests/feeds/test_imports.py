"""Bulk imports (FHIR Bulk Data style NDJSON): parts, 202 + status, per-line errors, resumed
after a worker stops mid-import, nothing applied twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from lindung_health.feeds import imports
from lindung_health.feeds.codes import NIK_SYSTEM
from lindung_health.settings import Settings
from lindung_health.testing import (
    VACCINATION_ID_SYSTEM,
    condition,
    immunization,
    observation,
)
from lindung_health.toolkit import Toolkit
from sqlalchemy import text

NOW = datetime.now(UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def ndjson(*resources: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in resources)


async def test_import_applies_every_line_once_and_reports_the_bad_ones(
    client, people, feed_headers, sessionmaker, settings: Settings
) -> None:
    first, second = await people.register(), await people.register()
    patient = {
        "resourceType": "Patient",
        "id": "pat-1",
        "identifier": [{"system": NIK_SYSTEM, "value": second["nik"]}],
    }
    by_reference = immunization("0", ident=f"imp-ref-{second['nik']}", when=ago(40), dose=1)
    by_reference["patient"] = {"reference": "Patient/pat-1"}
    part0 = (
        ndjson(
            immunization(first["nik"], ident=f"imp-1-{first['nik']}", when=ago(60), dose=1),
            immunization(first["nik"], ident=f"imp-2-{first['nik']}", when=ago(30), dose=2),
            patient,
            by_reference,
        )
        + b"{not json\n\n"
    )
    part1 = ndjson(
        observation(first["nik"], ident=f"imp-o-{first['nik']}", when=ago(1), loinc="1-1"),
        immunization(first["nik"], ident=f"imp-1-{first['nik']}", when=ago(60), dose=1),
    )

    opened = await client.post(
        "/v1/feeds/imports", headers=feed_headers, json={"source": "backfill-test"}
    )
    assert opened.status_code == 201, opened.text
    job = opened.json()
    assert job["state"] == "uploading"
    for n, body in enumerate((part0, part1)):
        sent = await client.post(
            "/v1/feeds/import-parts",
            params={"job": job["id"], "part": n},
            headers={**feed_headers, "content-type": "application/fhir+ndjson"},
            content=body,
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["staged"] is True
    again = await client.post(
        "/v1/feeds/import-parts",
        params={"job": job["id"], "part": 0},
        headers={**feed_headers, "content-type": "application/fhir+ndjson"},
        content=part0,
    )
    assert again.json()["staged"] is False

    started = await client.post(f"/v1/feeds/imports/{job['id']}/start", headers=feed_headers)
    assert started.status_code == 202
    assert started.headers["content-location"] == f"/v1/feeds/imports/{job['id']}"
    status = await client.get(job["status_url"], headers=feed_headers)
    assert status.status_code == 202 and "X-Progress" in status.headers
    assert status.json()["lines_total"] == 7

    # A worker applies 4 lines (the Patient and its record together) and stops (its chunk committed); another resumes the rest.
    tk = Toolkit.from_settings(settings)
    async with sessionmaker() as session, session.begin():
        assert await imports.run_chunk(session, tk, NOW, limit=4) == 4
    mid = (await client.get(job["status_url"], headers=feed_headers)).json()
    assert (mid["state"], mid["lines_done"]) == ("running", 4)
    assert await imports.drain(sessionmaker, tk, lambda: NOW) == 3

    done = await client.get(job["status_url"], headers=feed_headers)
    assert done.status_code == 200
    body = done.json()
    assert body["state"] == "completed" and body["progress"] == 1.0
    assert (body["accepted"], body["duplicate"], body["ignored"], body["rejected"]) == (3, 1, 1, 2)

    errors = await client.get(job["errors_url"], headers=feed_headers)
    assert errors.status_code == 200
    assert errors.headers["content-type"].startswith("application/fhir+ndjson")
    outcomes = [json.loads(line) for line in errors.text.splitlines()]
    got = [
        (o["issue"][0]["expression"][0], o["issue"][0]["details"]["coding"][0]["code"])
        for o in outcomes
    ]
    assert got == [("line 5", "invalid-json"), ("line 6", "unknown-loinc-code")]
    assert first["nik"] not in errors.text

    assert (await people.status(first))["colour"] == "green"
    async with sessionmaker() as session:
        staged = await session.execute(
            text("SELECT count(*) FROM feed_import_lines WHERE import_id = :id"),
            {"id": job["id"]},
        )
        assert staged.scalar_one() == 0
        linked = await session.execute(
            text("SELECT count(*) FROM health_records WHERE source_key = :k"),
            {"k": f"Immunization|{VACCINATION_ID_SYSTEM}|imp-ref-{second['nik']}"},
        )
        assert linked.scalar_one() == 1


async def test_import_is_the_owners_and_parts_only_while_uploading(
    client, feed_headers, settings: Settings
) -> None:
    from lindung_shared.testing import bearer

    job = (await client.post("/v1/feeds/imports", headers=feed_headers, json={})).json()
    other = bearer(settings, "feed", "another-feed")
    assert (await client.get(job["status_url"], headers=other)).status_code == 404
    await client.post(f"/v1/feeds/imports/{job['id']}/start", headers=feed_headers)
    late = await client.post(
        "/v1/feeds/import-parts",
        params={"job": job["id"], "part": 0},
        headers={**feed_headers, "content-type": "application/fhir+ndjson"},
        content=b"{}\n",
    )
    assert late.status_code == 409


async def test_import_flags_suspected_cases_and_reports_bad_conditions(
    client, people, feed_headers, sessionmaker, settings: Settings
) -> None:
    person = await people.register()
    nik = person["nik"]
    bad = condition(nik, ident=f"imp-pdp-bad-{nik}", when=ago(1))
    bad["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]}
    body = ndjson(condition(nik, ident=f"imp-pdp-{nik}", when=ago(1)), bad)
    job = (
        await client.post("/v1/feeds/imports", headers=feed_headers, json={"source": "pdp-test"})
    ).json()
    sent = await client.post(
        "/v1/feeds/import-parts",
        params={"job": job["id"], "part": 0},
        headers={**feed_headers, "content-type": "application/fhir+ndjson"},
        content=body,
    )
    assert sent.status_code == 200, sent.text
    assert (
        await client.post(f"/v1/feeds/imports/{job['id']}/start", headers=feed_headers)
    ).status_code == 202
    tk = Toolkit.from_settings(settings)
    assert await imports.drain(sessionmaker, tk, lambda: NOW) == 2
    done = (await client.get(job["status_url"], headers=feed_headers)).json()
    assert (done["state"], done["accepted"], done["rejected"]) == ("completed", 1, 1)
    errors = (await client.get(job["errors_url"], headers=feed_headers)).text
    [outcome] = [json.loads(line) for line in errors.splitlines()]
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "unknown-condition-code"
    async with sessionmaker() as session:
        states = await session.execute(
            text("SELECT state FROM suspected_cases WHERE person_id = :p"),
            {"p": person["person_id"]},
        )
        assert states.scalars().all() == ["suspected"]
