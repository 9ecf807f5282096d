"""Fixtures: a fresh migrated portal database on the real PostgreSQL, the portal app in-process
(its pages that need no other service), and a form helper that carries the CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from lindung_portal.api import build_app
from lindung_portal.manifest import SERVICE
from lindung_portal.settings import Settings
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.testing import app_client, fresh_database
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@pytest.fixture(scope="session")
async def settings() -> AsyncIterator[Settings]:
    base = Settings(database_pool_size=3, database_max_overflow=3)
    async with fresh_database(base, Path(SERVICE.migrations_dir)) as test_settings:
        yield test_settings


@pytest.fixture(scope="session")
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(build_app(settings)) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)
