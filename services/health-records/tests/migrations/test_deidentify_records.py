"""Migration 0003 rewrites the feed records stored before de-identification."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from lindung_health.feeds.deidentify import MASKED_REFERENCE
from lindung_health.manifest import MIGRATIONS_DIR
from lindung_health.settings import Settings
from lindung_health.testing import immunization, new_nik, observation
from lindung_shared.dbadmin import create_database, drop_database
from lindung_shared.migrations import upgrade


async def test_rows_stored_before_are_rewritten_without_the_person() -> None:
    settings = Settings()
    name = f"{settings.database_name}_m{uuid.uuid4().hex[:10]}"
    await create_database(settings.server_url, name)
    db = settings.model_copy(update={"database_name": name})
    dsn = db.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, db.sqlalchemy_url, "0002")
        nik, _ = new_nik()
        when = datetime.now(UTC) - timedelta(days=3)
        raw = [
            immunization(nik, ident=f"m-{uuid.uuid4()}", when=when, dose=2),
            observation(nik, ident=f"m-{uuid.uuid4()}", when=when),
        ]
        raw[0]["patient"]["display"] = "Siti Rahayu"
        raw[1]["contained"] = [{"resourceType": "Patient", "telecom": [{"value": "+628129"}]}]
        conn = await asyncpg.connect(dsn)
        try:
            # More rows than one batch of the migration, so the batching is exercised too.
            for i in range(1001 + len(raw)):
                resource = raw[i] if i < len(raw) else {**raw[0], "id": str(i)}
                await conn.execute(
                    "INSERT INTO health_records (id, source_key, source, resource_type, kind, "
                    "nik_hash, fhir_status, resource) "
                    "VALUES ($1, $2, 'test', $3, 'vaccination', $4, 'completed', $5::jsonb)",
                    uuid.uuid4(),
                    f"k-{i}-{uuid.uuid4()}",
                    resource["resourceType"],
                    os.urandom(32),
                    json.dumps(resource),
                )
        finally:
            await conn.close()

        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, db.sqlalchemy_url)

        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT resource::text AS r FROM health_records")
            assert len(rows) == 1001 + len(raw)
            for row in rows:
                for secret in (nik, "Siti Rahayu", "+628129"):
                    assert secret not in row["r"]
                stored = json.loads(row["r"])
                subject = "patient" if stored["resourceType"] == "Immunization" else "subject"
                assert stored[subject] == MASKED_REFERENCE
            kinds = {json.loads(r["r"])["resourceType"] for r in rows}
            assert kinds == {"Immunization", "Observation"}
        finally:
            await conn.close()
    finally:
        await drop_database(settings.server_url, name)
