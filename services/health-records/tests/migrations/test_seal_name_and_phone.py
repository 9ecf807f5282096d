"""Migration 0006 rewrites the people stored with their name and phone in clear."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
from lindung_health.manifest import MIGRATIONS_DIR
from lindung_health.settings import Settings
from lindung_health.toolkit import Toolkit
from lindung_shared.dbadmin import create_database, drop_database
from lindung_shared.migrations import upgrade


async def test_people_stored_before_keep_only_a_hash_and_ciphertexts() -> None:
    settings = Settings()
    name = f"{settings.database_name}_m{uuid.uuid4().hex[:10]}"
    await create_database(settings.server_url, name)
    db = settings.model_copy(update={"database_name": name})
    dsn = db.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    protector = Toolkit.from_settings(settings).protector
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, db.sqlalchemy_url, "0005")
        people = {uuid.uuid4(): (f"Warga Nomor {i}", f"+6281299{i:06d}") for i in range(1003)}
        conn = await asyncpg.connect(dsn)
        try:
            await conn.executemany(
                "INSERT INTO people (id, nik_hash, nik_ciphertext, name, birth_date, sex, "
                "regency_code, phone_e164) VALUES ($1, $2, $3, $4, '1990-01-01', 'F', '3171', $5)",
                [(i, os.urandom(32), os.urandom(40), n, p) for i, (n, p) in people.items()],
            )
        finally:
            await conn.close()

        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, db.sqlalchemy_url)

        conn = await asyncpg.connect(dsn)
        try:
            columns = {
                r["column_name"]
                for r in await conn.fetch(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = 'people'"
                )
            }
            assert "name" not in columns and "phone_e164" not in columns
            rows = await conn.fetch(
                "SELECT id, name_ciphertext, phone_hash, phone_ciphertext FROM people"
            )
            assert len(rows) == len(people)
            for row in rows:
                full_name, phone = people[row["id"]]
                assert full_name.encode() not in row["name_ciphertext"]
                assert phone.encode() not in row["phone_ciphertext"]
                assert protector.unseal(row["name_ciphertext"], "name") == full_name
                assert protector.unseal(row["phone_ciphertext"], "phone") == phone
                assert row["phone_hash"] == protector.phone_hash(phone)
        finally:
            await conn.close()
    finally:
        await drop_database(settings.server_url, name)
