"""Each retention purge of health-records deletes what is past its time and nothing else."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

from lindung_health.retention.purges import purges
from lindung_health.settings import Settings
from lindung_shared.metrics import PURGED_ROWS
from lindung_shared.retention import run_purges
from sqlalchemy import text

NOW = datetime.now(UTC)


async def _seed(sessionmaker, person_id: uuid.UUID) -> dict[str, dict[str, uuid.UUID | int]]:
    """One row of each kind past its retention and one within it."""
    ids: dict[str, dict[str, uuid.UUID | int]] = {}
    async with sessionmaker() as session, session.begin():
        for label, age in (("old", timedelta(hours=7)), ("new", timedelta(hours=5))):
            code = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO sign_in_codes (id, person_id, code_hash, expires_at, created_at) "
                    "VALUES (:id, :p, :h, :at, :at)"
                ),
                {"id": code, "p": person_id, "h": os.urandom(32), "at": NOW - age},
            )
            ids.setdefault("sign_in_codes", {})[label] = code
        for label, age in (("old", timedelta(days=36)), ("new", timedelta(days=20))):
            exposure = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO exposures (id, person_id, case_ref, venue_id, overlap_start, "
                    "overlap_end) VALUES (:id, :p, 'C-1', :v, CAST(:at AS timestamptz) - interval '1 hour', :at)"
                ),
                {"id": exposure, "p": person_id, "v": uuid.uuid4(), "at": NOW - age},
            )
            ids.setdefault("exposures", {})[label] = exposure
            history = await session.execute(
                text(
                    "INSERT INTO status_history (person_id, colour, reasons, rule_version, "
                    "changed_at) VALUES (:p, 'black', '[]', 'r', :at) RETURNING id"
                ),
                {"p": person_id, "at": NOW - age},
            )
            ids.setdefault("status_history", {})[label] = history.scalar_one()
        for label, age in (("old", timedelta(days=181)), ("new", timedelta(days=170))):
            record = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO health_records (id, source_key, source, resource_type, kind, "
                    "nik_hash, person_id, fhir_status, resource, occurred_at, result) VALUES "
                    "(:id, :key, 'laboratory', 'Observation', 'test', :h, :p, 'final', '{}', "
                    ":at, 'positive')"
                ),
                {
                    "id": record,
                    "key": f"t-{record}",
                    "h": os.urandom(32),
                    "p": person_id,
                    "at": NOW - age,
                },
            )
            ids.setdefault("test_results", {})[label] = record
            await session.execute(
                text(
                    "INSERT INTO cases (id, case_ref, person_id, record_id, sample_taken_at, "
                    "infectious_from, infectious_until, confirmed_at) "
                    "VALUES (:id, :ref, :p, :r, :at, :at, :at, :at)"
                ),
                {
                    "id": uuid.uuid4(),
                    "ref": f"C-{record}",
                    "p": person_id,
                    "r": record,
                    "at": NOW - age,
                },
            )
        signer = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO dcc_signers (id, kid, country, origin, certificate_der, subject, "
                "not_before, not_after, key_usage, added_by) VALUES (:id, :kid, 'XX', 'foreign', "
                ":der, 'CN=test', :nb, :na, '[]', 'test')"
            ),
            {
                "id": signer,
                "kid": os.urandom(8),
                "der": os.urandom(64),
                "nb": NOW - timedelta(days=900),
                "na": NOW + timedelta(days=900),
            },
        )
        for label, age in (("old", timedelta(days=31)), ("new", timedelta(days=29))):
            issued, attached = uuid.uuid4(), uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO dcc_issued (id, person_id, record_id, certificate_type, uvci, "
                    "signer_id, fingerprint, hc1, issued_at, expires_at) VALUES (:id, :p, :r, "
                    ":t, :u, :s, 'f', 'HC1:x', :at, :at)"
                ),
                {
                    "id": issued,
                    "p": person_id,
                    "r": ids["test_results"]["new"],
                    "t": "t" if label == "old" else "r",
                    "u": str(issued),
                    "s": signer,
                    "at": NOW - age,
                },
            )
            await session.execute(
                text(
                    "INSERT INTO dcc_foreign (id, person_id, uvci, certificate_type, kid, hc1, "
                    "dcc, expires_at) VALUES (:id, :p, :u, 'v', :kid, 'HC1:y', '{}', :at)"
                ),
                {
                    "id": attached,
                    "p": person_id,
                    "u": str(attached),
                    "kid": os.urandom(8),
                    "at": NOW - age,
                },
            )
            ids.setdefault("issued_certificates", {})[label] = issued
            ids.setdefault("foreign_certificates", {})[label] = attached
        for label, age in (("old", timedelta(days=8)), ("new", timedelta(days=6))):
            job = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO feed_imports (id, source, owner, state, created_at) "
                    "VALUES (:id, 'backfill', 'feed-1', 'uploading', :at)"
                ),
                {"id": job, "at": NOW - age},
            )
            await session.execute(
                text(
                    "INSERT INTO feed_import_lines (import_id, part, line, body) "
                    "VALUES (:id, 0, 0, '{}')"
                ),
                {"id": job},
            )
            ids.setdefault("feed_imports", {})[label] = job
    return ids


async def _exists(sessionmaker, table: str, row_id: uuid.UUID | int) -> bool:
    async with sessionmaker() as session:
        found = await session.execute(text(f"SELECT 1 FROM {table} WHERE id = :id"), {"id": row_id})
        return found.first() is not None


async def test_every_purge_deletes_what_is_past_its_time(settings, sessionmaker, people) -> None:
    person = await people.register()
    person_id = uuid.UUID(person["person_id"])
    ids = await _seed(sessionmaker, person_id)
    before = {d: PURGED_ROWS.labels("health-records", d)._value.get() for d in ids}

    done = await run_purges(
        sessionmaker, "health-records", purges(settings, NOW), batch_size=1
    )  # batch of one: the purge loops over its batches

    assert set(done) == set(ids)
    for table, rows in ids.items():
        table_name = {
            "test_results": "health_records",
            "issued_certificates": "dcc_issued",
            "foreign_certificates": "dcc_foreign",
        }.get(table, table)
        assert not await _exists(sessionmaker, table_name, rows["old"]), table
        assert await _exists(sessionmaker, table_name, rows["new"]), table
        assert done[table] >= 1
        assert PURGED_ROWS.labels("health-records", table)._value.get() >= before[table] + 1
    async with sessionmaker() as session:
        staged = await session.execute(
            text("SELECT import_id FROM feed_import_lines WHERE import_id = ANY(:ids)"),
            {"ids": list(ids["feed_imports"].values())},
        )
        assert list(staged.scalars()) == [ids["feed_imports"]["new"]]  # the lines go with it
        cases = await session.execute(
            text("SELECT record_id FROM cases WHERE person_id = :p"), {"p": person_id}
        )
        assert list(cases.scalars()) == [ids["test_results"]["new"]]


async def test_exposures_outlive_the_longest_quarantine_of_any_rule(
    settings, sessionmaker, people
) -> None:
    person = await people.register()
    person_id = uuid.UUID(person["person_id"])
    exposure = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO exposures (id, person_id, case_ref, venue_id, overlap_start, "
                "overlap_end) VALUES (:id, :p, 'C-2', :v, CAST(:at AS timestamptz) - interval '1 hour', :at)"
            ),
            {"id": exposure, "p": person_id, "v": uuid.uuid4(), "at": NOW - timedelta(days=40)},
        )
    short = Settings.model_validate({**settings.model_dump(), "exposure_retention_days": 14})
    rule_id = f"test-long-quarantine-{uuid.uuid4().hex[:8]}"
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO screening_rules (id, valid_from, valid_to, parameters, created_by) "
                "VALUES (:id, :f, :f, :p, 'test')"
            ),
            {"id": rule_id, "f": NOW - timedelta(days=400), "p": '{"quarantine_days": 45}'},
        )
    try:
        await run_purges(sessionmaker, "health-records", purges(short, NOW))
        assert await _exists(sessionmaker, "exposures", exposure)  # 40 days < 45
        later = NOW + timedelta(days=6)
        await run_purges(sessionmaker, "health-records", purges(short, later))
        assert not await _exists(sessionmaker, "exposures", exposure)
    finally:
        async with sessionmaker() as session, session.begin():
            await session.execute(
                text("DELETE FROM screening_rules WHERE id = :id"), {"id": rule_id}
            )
