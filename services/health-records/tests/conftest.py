"""Fixtures: one fresh, migrated database per test session on the real PostgreSQL, the API
in-process, and helpers to register people and sign them in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from lindung_health.api import build_app
from lindung_health.manifest import MIGRATIONS_DIR
from lindung_health.settings import Settings
from lindung_health.testing import enrol_resident, new_nik, open_sealed
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.testing import app_client, bearer, fresh_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@pytest.fixture(scope="session")
async def settings() -> AsyncIterator[Settings]:
    async with fresh_database(Settings(), MIGRATIONS_DIR) as test_settings:
        # Every test client calls from one address and the limiter's windows outlive a test
        # (one database per session), and registering signs each person in (a phone holds up
        # to five people): the address and phone limits are lifted here; they are tested
        # against real processes in tests/hostile/test_rate_limits.py.
        yield test_settings.model_copy(
            update={
                "otp_per_person_per_15min": 10**6,
                "otp_per_phone_per_15min": 10**6,
                "otp_per_address_per_15min": 10**6,
                "token_per_address_per_15min": 10**6,
                "registrations_per_address_per_hour": 10**6,
            }
        )


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(build_app(settings)) as c:
        yield c


@pytest.fixture(scope="session")
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings, pool_size=5, max_overflow=5)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def feed_headers(settings: Settings) -> dict[str, str]:
    return bearer(settings, "feed", "lab-test")


@pytest.fixture
def officer_headers(settings: Settings) -> dict[str, str]:
    """A health officer of national jurisdiction."""
    return bearer(settings, "health_officer", "officer-1")


@pytest.fixture
def admin_headers(settings: Settings) -> dict[str, str]:
    return bearer(settings, "admin", "admin-1")


class People:
    """Registers people through the API."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        self.client, self.settings, self.sessionmaker = client, settings, sessionmaker
        self._phone = 0

    def next_phone(self) -> str:
        # Not the random module: hypothesis seeds it, and one phone holds at most 5 people.
        import secrets

        return f"+62812{10**7 + secrets.randbelow(9 * 10**7)}"

    async def register(self, *, verify: bool = True, **overrides: Any) -> dict[str, Any]:
        """Enrol a new fictitious resident in the dev civil registry, register them and (with
        ``verify``) prove their phone with the first sign-in code, which binds the NIK."""
        nik, born = new_nik(birth_date=overrides.pop("birth_date", None))
        body = {
            "nik": nik,
            "name": "Test Person",
            "birth_date": born.isoformat(),
            "phone": self.next_phone(),
        }
        body.update(overrides)
        await enrol_resident(
            self.settings, body["nik"], body["name"], date.fromisoformat(body["birth_date"])
        )
        response = await self.client.post("/v1/people", json=body)
        assert response.status_code == 201, response.text
        person = {**body, "person_id": response.json()["person_id"]}
        if verify:
            await self.sign_in(person)
        return person

    async def sign_in(self, person: dict[str, Any]) -> str:
        """Ask for a code, read it from the event for the notifier, trade it for a token."""
        asked = await self.client.post(
            "/v1/auth/otp", json={"phone": person["phone"], "nik": person["nik"]}
        )
        assert asked.status_code == 202, asked.text
        async with self.sessionmaker() as session:
            payload = (
                await session.execute(
                    text(
                        "SELECT payload FROM outbox WHERE type = 'sign_in.code_issued' "
                        "AND key = :k ORDER BY id DESC LIMIT 1"
                    ),
                    {"k": person["person_id"]},
                )
            ).scalar_one()
        answer = await self.client.post(
            "/v1/auth/token",
            json={"request_id": asked.json()["request_id"], "code": open_sealed(payload)["code"]},
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def headers(self, person: dict[str, Any]) -> dict[str, str]:
        return bearer(self.settings, "citizen", person["person_id"])

    async def status(self, person: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.get("/v1/people/me/status", headers=self.headers(person))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def people(
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> People:
    return People(client, settings, sessionmaker)
