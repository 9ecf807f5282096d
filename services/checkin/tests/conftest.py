"""Fixtures of the check-in tests: a fresh migrated database, the app, venues, keys, people.

Venues, keys and statuses are put in place with the same handler functions the Kafka
consumers call (the consumer tests under ``tests/consumers`` go through real Kafka).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lindung_checkin.api import build_app
from lindung_checkin.manifest import SERVICE
from lindung_checkin.settings import Settings
from lindung_checkin.statuses.handlers import on_status_changed
from lindung_checkin.trust.handlers import on_key_published
from lindung_checkin.venues.repository import upsert_venue
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.events.catalogue import (
    Colour,
    QrKeyPublished,
    StatusChanged,
    VenueCategory,
    VenueSnapshot,
    make_event,
)
from lindung_shared.qr import jwk_from_public_key, sign_qr
from lindung_shared.testing import app_client, bearer, fresh_database
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


@pytest.fixture(scope="session")
async def db_settings() -> AsyncIterator[Settings]:
    base = Settings(qr_keys_min_reload_seconds=0.0, sector_rules_refresh_seconds=0.0)
    async with fresh_database(base, SERVICE.migrations_dir) as settings:
        yield settings


@pytest.fixture(scope="session")
async def engine(db_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_settings, pool_size=4, max_overflow=4)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@dataclass
class QrSigner:
    key: Ed25519PrivateKey
    key_id: str

    def sign(
        self,
        venue_id: uuid.UUID,
        *,
        entrance: str = "main",
        qr_id: uuid.UUID | None = None,
        expires_at: int | None = None,
    ) -> str:
        return sign_qr(
            self.key,
            self.key_id,
            venue_id=venue_id,
            entrance=entrance,
            qr_id=qr_id or uuid.uuid4(),
            expires_at=expires_at,
        )


async def publish_key(sessions: async_sessionmaker[AsyncSession], signer: QrSigner) -> None:
    event = make_event(
        "qr_key.published",
        QrKeyPublished(
            key_id=signer.key_id,
            jwk=jwk_from_public_key(signer.key.public_key(), signer.key_id),
            status="active",
            published_at=datetime.now(UTC),
        ),
    )
    async with sessions() as session, session.begin():
        await on_key_published(session, event)


@pytest.fixture(scope="session")
async def signer(sessions: async_sessionmaker[AsyncSession]) -> QrSigner:
    signer = QrSigner(Ed25519PrivateKey.generate(), f"qr-test-{uuid.uuid4().hex[:8]}")
    await publish_key(sessions, signer)
    return signer


@pytest.fixture(scope="session")
async def client(db_settings: Settings, signer: QrSigner) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(build_app(db_settings)) as client:
        yield client


MakeVenue = Callable[..., Awaitable[VenueSnapshot]]


def venue_snapshot(**fields: Any) -> VenueSnapshot:
    values: dict[str, Any] = {
        "venue_id": uuid.uuid4(),
        "manager_id": f"manager-{uuid.uuid4().hex[:8]}",
        "name": "Mal Kota",
        "category": VenueCategory.MALL,
        "regency_code": "3171",
        "timezone": "Asia/Jakarta",
        "latitude": -6.2,
        "longitude": 106.8,
        "capacity": 100,
        "effective_capacity": 100,
        "max_stay_minutes": 240,
        "opening_hours": [],
        "status": "active",
        "updated_at": datetime.now(UTC),
    }
    values.update(fields)
    if "capacity" in fields and "effective_capacity" not in fields:
        values["effective_capacity"] = fields["capacity"]
    return VenueSnapshot(**values)


@pytest.fixture
def make_venue(sessions: async_sessionmaker[AsyncSession]) -> MakeVenue:
    async def make(**fields: Any) -> VenueSnapshot:
        venue = venue_snapshot(**fields)
        async with sessions() as session, session.begin():
            await upsert_venue(session, venue)
        return venue

    return make


SetColour = Callable[..., Awaitable[None]]


@pytest.fixture
def set_colour(sessions: async_sessionmaker[AsyncSession]) -> SetColour:
    async def set_(person_id: uuid.UUID, colour: str, valid_until: datetime | None = None) -> None:
        event = make_event(
            "status.changed",
            StatusChanged(
                person_id=person_id,
                colour=Colour(colour),
                valid_until=valid_until,
                rule_version="test-rules",
                changed_at=datetime.now(UTC),
            ),
        )
        async with sessions() as session, session.begin():
            await on_status_changed(session, event)

    return set_


class Citizen:
    def __init__(self, settings: Settings, person_id: uuid.UUID | None = None) -> None:
        self.person_id = person_id or uuid.uuid4()
        self.headers = bearer(settings, "citizen", str(self.person_id))


@pytest.fixture
def citizen_factory(db_settings: Settings) -> Callable[[], Citizen]:
    return lambda: Citizen(db_settings)


@pytest.fixture
async def green_citizen(citizen_factory: Callable[[], Citizen], set_colour: SetColour) -> Citizen:
    citizen = citizen_factory()
    await set_colour(citizen.person_id, "green")
    return citizen
