"""Fixtures for the plumbing tests: a throwaway database with the outbox tables and an
``applied`` table that test handlers write to, on the real PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from lindung_shared.db import create_engine, create_sessionmaker, make_metadata
from lindung_shared.dbadmin import create_database, drop_database
from lindung_shared.outbox import NOTIFY_TRIGGER_SQL, plumbing_tables
from lindung_shared.settings import ServiceSettings
from sqlalchemy import BigInteger, Column, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

metadata: MetaData = make_metadata()
plumbing_tables(metadata)
# No unique constraint on purpose: an event applied twice would show up as two rows.
applied = Table(
    "applied",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("key", Text, nullable=False),
)


async def make_database(base: ServiceSettings, label: str) -> ServiceSettings:
    name = f"lindung_shared_{label}_t{uuid.uuid4().hex[:8]}"
    await create_database(base.server_url, name)
    settings = base.model_copy(update={"database_name": name, "service_name": f"test-{label}"})
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for statement in NOTIFY_TRIGGER_SQL:
            await conn.execute(text(statement))
    await engine.dispose()
    return settings


@pytest.fixture(scope="session")
def base_settings() -> ServiceSettings:
    return ServiceSettings(LINDUNG_ENV="test")


@pytest.fixture(scope="session")
async def producer_db(base_settings: ServiceSettings) -> AsyncIterator[ServiceSettings]:
    settings = await make_database(base_settings, "producer")
    yield settings
    await drop_database(base_settings.server_url, settings.database_name)


@pytest.fixture(scope="session")
async def consumer_db(base_settings: ServiceSettings) -> AsyncIterator[ServiceSettings]:
    settings = await make_database(base_settings, "consumer")
    yield settings
    await drop_database(base_settings.server_url, settings.database_name)


@pytest.fixture(scope="session")
async def consumer_engine(consumer_db: ServiceSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(consumer_db)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def consumer_sessions(consumer_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(consumer_engine)
