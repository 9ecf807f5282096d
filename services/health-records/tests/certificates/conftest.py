"""Fixtures of the certificate tests: the vector summary in the terminal report, and a fresh
migrated database with the certificate endpoints alone on a test app."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from lindung_health.certificates.endpoints import CertificateContext, router
from lindung_health.certificates.settings import CertificateSettings
from lindung_health.certificates.trust import Keyring
from lindung_health.manifest import MIGRATIONS_DIR
from lindung_health.models import HealthRecord, Person
from lindung_health.people.contact import sealed_columns
from lindung_health.settings import Settings
from lindung_health.testing import dev_csca
from lindung_health.toolkit import Toolkit
from lindung_shared.app import create_app
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.testing import app_client, fresh_database
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

_SUMMARY = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def certificate_summary_lines(request: pytest.FixtureRequest) -> list[str]:
    return request.config.stash.setdefault(_SUMMARY, [])


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    for text in config.stash.get(_SUMMARY, []):
        terminalreporter.section("EU DCC test vectors")
        terminalreporter.write_line(text)


# --- a fresh database and a test app with only the certificate endpoints --------------------


@pytest.fixture(scope="session")
async def certificate_settings() -> AsyncIterator[Settings]:
    async with fresh_database(Settings(), MIGRATIONS_DIR) as test_settings:
        yield test_settings


@pytest.fixture(scope="session")
async def certificate_client(certificate_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings=certificate_settings,
        title="certificates (test)",
        description="the certificate endpoints alone",
        routers=[router],
    )
    app.state.toolkit = Toolkit.from_settings(certificate_settings)  # names are sealed with it
    # The service trusts foreign document signers only under a configured CSCA: the tests'.
    settings = CertificateSettings()
    app.state.certificates = CertificateContext(
        settings, Keyring(settings), [dev_csca(c).certificate for c in ("AT", "DE")]
    )
    async with app_client(app) as client:
        yield client


@pytest.fixture(scope="session")
async def certificate_sessions(
    certificate_settings: Settings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(certificate_settings, pool_size=2, max_overflow=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


PersonFactory = Callable[..., Awaitable[uuid.UUID]]
RecordFactory = Callable[..., Awaitable[uuid.UUID]]


@pytest.fixture
def make_person(certificate_sessions: async_sessionmaker[AsyncSession]) -> PersonFactory:
    """Registers a person straight in the database (the people API is another feature's)."""

    async def make(name: str = "Sari Wijaya", birth_date: date = date(1990, 4, 1)) -> uuid.UUID:
        person_id = uuid.uuid4()
        async with certificate_sessions() as session, session.begin():
            session.add(
                Person(
                    id=person_id,
                    nik_hash=hashlib.sha256(person_id.bytes).digest(),
                    nik_ciphertext=os.urandom(32),
                    **sealed_columns(
                        Toolkit.from_settings(Settings()).protector,
                        name=name,
                        phone_e164="+6281200000000",
                    ),
                    birth_date=birth_date,
                    sex="F",
                    regency_code="3171",
                )
            )
        return person_id

    return make


@pytest.fixture
def add_record(certificate_sessions: async_sessionmaker[AsyncSession]) -> RecordFactory:
    """Stores a health record as the feeds would have (vaccination or test)."""

    async def add(
        person_id: uuid.UUID, kind: str, occurred_at: datetime, **fields: Any
    ) -> uuid.UUID:
        record_id = uuid.uuid4()
        async with certificate_sessions() as session, session.begin():
            person = await session.get(Person, person_id)
            assert person is not None
            session.add(
                HealthRecord(
                    id=record_id,
                    source_key=f"test:{record_id}",
                    source="test",
                    resource_type="Immunization" if kind == "vaccination" else "Observation",
                    kind=kind,
                    nik_hash=person.nik_hash,
                    person_id=person_id,
                    fhir_status="completed" if kind == "vaccination" else "final",
                    occurred_at=occurred_at,
                    resource={},
                    **fields,
                )
            )
        return record_id

    return add
