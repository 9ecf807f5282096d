"""The raw asyncpg pool used by the check-in hot path.

A scan is ONE statement (``SELECT * FROM checkin_scan(...)``) sent on a pooled asyncpg
connection outside an explicit transaction: PostgreSQL runs it as its own transaction and
commits (fsync on) before answering, so the API replies only after the visit is durable, in a
single round trip, without ORM or transaction-control round trips.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from fastapi.responses import JSONResponse
from lindung_shared.settings import ServiceSettings


def asyncpg_dsn(settings: ServiceSettings) -> str:
    return settings.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class HotConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pooled connection released without the reset query.

    asyncpg normally sends ``RESET ALL; UNLISTEN *; ...`` on every release: a second round
    trip per scan. The hot pool never changes session state (no SET, LISTEN or session-level
    advisory locks; scans use transaction-scoped locks), so there is nothing to reset. An open
    transaction is still rolled back by asyncpg on release.
    """

    def get_reset_query(self) -> str:
        return ""


async def _init_connection(conn: asyncpg.Connection) -> None:
    # UUIDs travel as text: they go straight into orjson answers, no conversion per field.
    await conn.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog", format="text")


async def create_pool(settings: ServiceSettings, *, min_size: int = 2) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        asyncpg_dsn(settings),
        min_size=min_size,
        max_size=settings.database_pool_size,
        init=_init_connection,
        connection_class=HotConnection,
        server_settings={"application_name": f"{settings.service_name}-hot"},
    )
    assert pool is not None
    return pool


def is_missing_partition(exc: BaseException) -> bool:
    """True when an insert failed because no partition holds the row's day."""
    return isinstance(exc, asyncpg.CheckViolationError) and "no partition" in str(exc)


class JsonResponse(JSONResponse):
    """A JSON response serialised by orjson (UUIDs, datetimes natively), no re-validation.
    A JSONResponse, so that OpenAPI documents the route's response model (for any other
    response class FastAPI documents the 200 as a bare string, which every answer broke)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
