"""Migration 0004 seals the phones the notifier stored in clear (recipients, SMS deliveries)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from lindung_notifier.manifest import SERVICE
from lindung_notifier.settings import Settings
from lindung_notifier.testing import opened
from lindung_shared.dbadmin import create_database, drop_database
from lindung_shared.migrations import upgrade

MIGRATIONS_DIR = SERVICE.migrations_dir


async def test_phones_stored_before_are_sealed() -> None:
    settings = Settings()
    name = f"{settings.database_name}_m{uuid.uuid4().hex[:10]}"
    await create_database(settings.server_url, name)
    db = settings.model_copy(update={"database_name": name})
    dsn = db.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, db.sqlalchemy_url, "0003")
        phones = {f"person-{i}": f"+6281377{i:06d}" for i in range(1002)}
        notification = uuid.uuid4()
        conn = await asyncpg.connect(dsn)
        try:
            await conn.executemany(
                "INSERT INTO recipients (subject, phone_e164) VALUES ($1, $2)", phones.items()
            )
            await conn.execute(
                "INSERT INTO notifications (id, recipient, kind, template_key, language, title, "
                "body, source_event_id) VALUES ($1, 'person-0', 'status', 'status.green', 'id', "
                "'t', 'b', $2)",
                notification,
                uuid.uuid4(),
            )
            await conn.execute(
                "INSERT INTO deliveries (id, notification_id, channel, destination) "
                "VALUES ($1, $2, 'sms', '+6281377000000')",
                uuid.uuid4(),
                notification,
            )
        finally:
            await conn.close()

        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, db.sqlalchemy_url)

        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT subject, phone_sealed FROM recipients")
            assert len(rows) == len(phones)
            for row in rows:
                assert not row["phone_sealed"].startswith("+")
                assert opened(row["phone_sealed"]) == phones[row["subject"]]
            destination = await conn.fetchval("SELECT destination FROM deliveries")
            assert opened(destination) == "+6281377000000"
        finally:
            await conn.close()
    finally:
        await drop_database(settings.server_url, name)
