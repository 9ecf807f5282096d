"""Statuses change with time (the sweeper) and with rule versions (the rules API)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from lindung_health.screening.service import sweep_due
from lindung_health.testing import bundle, observation
from lindung_health.worker import sweep
from sqlalchemy import text


async def test_sweeper_recomputes_an_expired_negative_test(
    client, people, feed_headers, sessionmaker
) -> None:
    person = await people.register()
    pid = person["person_id"]
    sampled = datetime.now(UTC) - timedelta(hours=20)
    await client.post(
        "/v1/feeds/fhir",
        headers=feed_headers,
        json=bundle(
            observation(
                person["nik"], ident=f"ag-{pid}", when=sampled, result="negative", loinc="94558-4"
            )
        ),
    )
    status = await people.status(person)
    assert status["colour"] == "green"
    assert datetime.fromisoformat(status["valid_until"]) == sampled.replace(
        microsecond=sampled.microsecond
    ) + timedelta(hours=24)

    # Let 5 hours pass: the test is now 25 h old and its status is due.
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "UPDATE health_records SET occurred_at = occurred_at - interval '5 hours' WHERE person_id = :p"
            ),
            {"p": pid},
        )
        await session.execute(
            text(
                "UPDATE person_status SET due_at = now() - interval '1 minute' WHERE person_id = :p"
            ),
            {"p": pid},
        )
    assert await sweep(sessionmaker, batch_size=2) >= 1
    async with sessionmaker() as session:
        row = (
            await session.execute(
                text("SELECT colour, due_at FROM person_status WHERE person_id = :p"), {"p": pid}
            )
        ).one()
        changes = (
            (
                await session.execute(
                    text(
                        "SELECT payload FROM outbox WHERE type = 'status.changed' AND key = :p ORDER BY id"
                    ),
                    {"p": pid},
                )
            )
            .scalars()
            .all()
        )
    assert row.colour == "red" and row.due_at is None
    assert [c["colour"] for c in changes] == ["red", "green", "red"]
    assert changes[-1]["previous_colour"] == "green"


async def test_sweepers_skip_rows_another_worker_holds(people, sessionmaker) -> None:
    held, free = await people.register(), await people.register()
    async with sessionmaker() as setup, setup.begin():
        await setup.execute(
            text(
                "UPDATE person_status SET due_at = now() - interval '1 hour' WHERE person_id IN (:a, :b)"
            ),
            {"a": held["person_id"], "b": free["person_id"]},
        )
    async with sessionmaker() as other, other.begin():
        await other.execute(
            text("SELECT 1 FROM person_status WHERE person_id = :a FOR UPDATE"),
            {"a": held["person_id"]},
        )
        async with sessionmaker() as session, session.begin():
            await asyncio.wait_for(sweep_due(session, datetime.now(UTC), 1000), timeout=10)
    async with sessionmaker() as session:
        rows = dict(
            (
                await session.execute(
                    text(
                        "SELECT person_id::text, due_at FROM person_status WHERE person_id IN (:a, :b)"
                    ),
                    {"a": held["person_id"], "b": free["person_id"]},
                )
            ).all()
        )
    assert rows[free["person_id"]] is None  # recomputed (red: nothing due any more)
    assert rows[held["person_id"]] is not None  # skipped, not waited for


async def test_rules_are_versioned_data_and_a_new_version_recomputes(
    client, people, officer_headers, admin_headers, sessionmaker
) -> None:
    person = await people.register()
    listed = await client.get("/v1/rules", headers=officer_headers)
    assert listed.status_code == 200
    # The seeded versions, oldest last: 2020-01-v1 traced the infectious period only, the
    # default since 2020-01-v2 is the seed's 14-day look-back.
    seeded = {r["id"]: r["parameters"] for r in listed.json() if r["created_by"] == "migration"}
    assert seeded["2020-01-v1"]["contact_window"] == "infectious_period"
    assert seeded["2020-01-v1"]["infectious_days_before_sample"] == 2
    assert seeded["2020-01-v2"]["contact_window"] == "lookback"
    assert seeded["2020-01-v2"]["lookback_days"] == 14
    current = (await client.get("/v1/rules/current", headers=officer_headers)).json()
    assert current["parameters"]["quarantine_days"] == 14
    assert current["parameters"]["contact_window"] == "lookback"

    bad = await client.post(
        "/v1/rules",
        headers=admin_headers,
        json={
            "id": "nope",
            "valid_from": "2026-01-01T00:00:00Z",
            "parameters": {"isolation_days": -1},
            "reason": "test",
        },
    )
    assert bad.status_code == 422
    # Children exempt no more, from now on (the test person is an adult either way; what
    # matters is that the new version decides and is recorded).
    start = datetime.now(UTC) - timedelta(seconds=1)
    rule_id = f"2099-{start.microsecond % 12 + 1:02d}-v{start.second + 100}"
    new_rule = {
        "id": rule_id,
        "valid_from": start.isoformat(),
        "parameters": {"children_exempt_from_vaccination": False},
        "reason": "children's vaccination campaign complete",
    }
    # officers read the rules; publishing needs the admin role, and a reason
    by_officer = await client.post("/v1/rules", headers=officer_headers, json=new_rule)
    assert by_officer.status_code == 403
    no_reason = {k: v for k, v in new_rule.items() if k != "reason"}
    assert (
        await client.post("/v1/rules", headers=admin_headers, json=no_reason)
    ).status_code == 422
    published = await client.post("/v1/rules", headers=admin_headers, json=new_rule)
    assert published.status_code == 201, published.text
    log = (
        await client.get(
            "/v1/audit-log", headers=admin_headers, params={"action": "screening_rule.publish"}
        )
    ).json()["entries"]
    assert (log[0]["target"], log[0]["reason"], log[0]["actor"]) == (
        f"screening_rule:{rule_id}",
        "children's vaccination campaign complete",
        "admin-1",
    )
    assert published.json()["in_force"] is True
    again = await client.post("/v1/rules", headers=admin_headers, json=new_rule)
    assert again.status_code == 409
    await sweep(sessionmaker, batch_size=500)
    async with sessionmaker() as session:
        version = (
            await session.execute(
                text("SELECT rule_version FROM person_status WHERE person_id = :p"),
                {"p": person["person_id"]},
            )
        ).scalar_one()
    assert version == rule_id
    assert (await people.status(person))["rule_version"] == rule_id
    citizen = await client.post(
        "/v1/rules",
        headers=people.headers(person),
        json={"id": "2100-01-v1", "valid_from": start.isoformat(), "reason": "test"},
    )
    assert citizen.status_code == 403
