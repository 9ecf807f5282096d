from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from lindung_shared.testing import app_client, bearer, fresh_database
from lindung_venues.api import build_app
from lindung_venues.manifest import SERVICE
from lindung_venues.settings import Settings

#: An operator-supplied code from after the 2022 Papua split (Papua Selatan, province 93).
EXTRA_REGENCY = "9301"


@pytest.fixture(scope="session")
def extra_regencies_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("regions") / "extra.csv"
    path.write_text("code,province_code,name\n9301,93,KABUPATEN MERAUKE\n")
    return path


@pytest.fixture(scope="session")
async def settings(extra_regencies_csv: Path) -> AsyncIterator[Settings]:
    base = Settings(VENUE_REGISTRY_EXTRA_REGENCIES_CSV=extra_regencies_csv)
    async with fresh_database(base, SERVICE.migrations_dir) as test_settings:
        yield test_settings


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(build_app(settings)) as http:
        yield http


Headers = dict[str, str]


@pytest.fixture(scope="session")
def token(settings: Settings) -> Callable[..., Headers]:
    def make(role: str, subject: str | None = None) -> Headers:
        return bearer(settings, role, subject)

    return make


@pytest.fixture
def manager_id() -> str:
    return f"manager-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def manager(token: Callable[..., Headers], manager_id: str) -> Headers:
    return token("venue_manager", manager_id)


@pytest.fixture
def officer(token: Callable[..., Headers]) -> Headers:
    """A health officer of national jurisdiction."""
    return token("health_officer", f"officer-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def admin(token: Callable[..., Headers]) -> Headers:
    return token("admin", f"admin-{uuid.uuid4().hex[:8]}")


VENUE: dict[str, Any] = {
    "name": "Pondok Indah Mall",
    "category": "mall",
    "address": "Jl. Metro Pondok Indah, Jakarta Selatan",
    "regency_code": "3171",
    "latitude": -6.2656,
    "longitude": 106.7838,
    "capacity": 8000,
    "opening_hours": [{"weekday": 0, "opens": "10:00", "closes": "22:00"}],
    "entrances": ["Main lobby", "East wing"],
}


@pytest.fixture(scope="session")
def venue_body() -> Callable[..., dict[str, Any]]:
    """A valid registration body, with ``overrides`` applied."""

    def make(**overrides: Any) -> dict[str, Any]:
        return {**VENUE, **overrides}

    return make


@pytest.fixture(scope="session")
def create_venue(
    client: httpx.AsyncClient, venue_body: Callable[..., dict[str, Any]]
) -> Callable[..., Any]:
    """Register a venue through the API and return it (asserting 201)."""

    async def make(headers: Headers, **overrides: Any) -> dict[str, Any]:
        response = await client.post("/v1/venues", json=venue_body(**overrides), headers=headers)
        assert response.status_code == 201, response.text
        venue: dict[str, Any] = response.json()
        return venue

    return make
