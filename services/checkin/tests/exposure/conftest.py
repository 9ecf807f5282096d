"""Fixtures of the exposure matcher's tests: one fresh, migrated database per session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC
from typing import Any

import pytest
from lindung_checkin.manifest import SERVICE
from lindung_checkin.settings import Settings
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.testing import fresh_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker


@pytest.fixture(scope="session")
async def exposure_db() -> AsyncIterator[Settings]:
    async with fresh_database(Settings(), SERVICE.migrations_dir) as settings:
        yield settings


@pytest.fixture(scope="session")
async def exposure_engine(exposure_db: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(exposure_db, pool_size=4, max_overflow=4)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def exposure_sessions(exposure_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(exposure_engine)


_VENUE = text(
    "INSERT INTO venues (venue_id, manager_id, name, category, regency_code, timezone, capacity, "
    "effective_capacity, max_stay_minutes, updated_at) VALUES (:venue_id, :manager_id, :name, "
    ":category, '3171', :timezone, 10000, 10000, 240, now())"
)
_VISIT = text(
    "INSERT INTO visits (visit_id, person_id, venue_id, checked_in_at, checked_out_at, "
    "auto_checkout_at, source, colour, counted) VALUES (:visit_id, :person_id, :venue_id, "
    ":checked_in_at, :checked_out_at, :auto_checkout_at, 'online', 'green', true)"
)


Row = dict[str, Any]
Seed = Callable[[AsyncSession | AsyncConnection, list[Row], list[Row]], Awaitable[None]]


def venue_row(category: str = "mall", **fields: Any) -> Row:
    """A venue for the local copy (``venue_id``, ``category``, name, timezone, manager)."""
    return {
        "venue_id": uuid.uuid4(),
        "category": category,
        "name": "Mal Kota",
        "timezone": "Asia/Jakarta",
        "manager_id": "manager-1",
        **fields,
    }


async def _seed(db: AsyncSession | AsyncConnection, venues: list[Row], visits: list[Row]) -> None:
    if visits:
        days = sorted({v["checked_in_at"].astimezone(UTC).date() for v in visits})
        await db.execute(
            text("SELECT checkin_ensure_partitions(d) FROM unnest(CAST(:days AS date[])) AS d"),
            {"days": days},
        )
    if venues:
        await db.execute(_VENUE, venues)
    if visits:
        await db.execute(_VISIT, visits)


@pytest.fixture(scope="session")
def seed() -> Seed:
    """Insert venue rows and visit rows (creating the daily partitions the visits need)."""
    return _seed


@pytest.fixture(scope="session")
def new_venue() -> Callable[..., Row]:
    return venue_row
