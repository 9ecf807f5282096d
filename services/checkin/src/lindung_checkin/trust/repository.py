"""SQL of the trusted QR keys and the revoked codes: the local copies the door reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

TRUSTED_KEYS = "SELECT key_id, jwk::text FROM qr_keys WHERE status IN ('active', 'retiring')"
_TRUSTED_KEYS = text(TRUSTED_KEYS)
_ACTIVE_RULES = (
    "SELECT version FROM sector_rule_sets WHERE valid_from <= now() "
    "AND (valid_until IS NULL OR valid_until > now()) ORDER BY valid_from DESC LIMIT 1"
)
_UPSERT_KEY = text(
    "INSERT INTO qr_keys (key_id, jwk, status, updated_at) "
    "VALUES (:key_id, CAST(:jwk AS jsonb), :status, :at) "
    "ON CONFLICT (key_id) DO UPDATE SET jwk = EXCLUDED.jwk, status = EXCLUDED.status, "
    "updated_at = EXCLUDED.updated_at "
    "WHERE qr_keys.status <> 'retired' AND qr_keys.updated_at <= EXCLUDED.updated_at"
)
_RETIRE_KEY = text(
    "UPDATE qr_keys SET status = 'retired', updated_at = greatest(updated_at, :at) "
    "WHERE key_id = :key_id"
)
_REVOKE = text(
    "INSERT INTO revoked_qr_codes (qr_id, venue_id, revoked_at) VALUES (:qr_id, :venue_id, :at) "
    "ON CONFLICT (qr_id) DO NOTHING"
)


async def trusted_key_rows(db: Any) -> Sequence[Sequence[str]]:
    """(key id, JWK text) of the keys in use, on an asyncpg pool or connection."""
    rows: Sequence[Sequence[str]] = await db.fetch(TRUSTED_KEYS)
    return rows


async def rule_version_in_force(pool: asyncpg.Pool) -> str | None:
    version: str | None = await pool.fetchval(_ACTIVE_RULES)
    return version


async def store_key(
    session: AsyncSession, key_id: str, jwk: dict[str, Any], status: str, at: datetime
) -> None:
    await session.execute(
        _UPSERT_KEY,
        {"key_id": key_id, "jwk": orjson.dumps(jwk).decode(), "status": status, "at": at},
    )


async def retire_key(session: AsyncSession, key_id: str, at: datetime) -> None:
    await session.execute(_RETIRE_KEY, {"key_id": key_id, "at": at})


async def revoke_code(
    session: AsyncSession, qr_id: uuid.UUID, venue_id: uuid.UUID, at: datetime
) -> None:
    await session.execute(_REVOKE, {"qr_id": qr_id, "venue_id": venue_id, "at": at})


async def trusted_key_rows_in(session: AsyncSession) -> Sequence[Sequence[str]]:
    """:func:`trusted_key_rows` in a SQLAlchemy session's transaction."""
    rows: Sequence[Sequence[str]] = (await session.execute(_TRUSTED_KEYS)).all()
    return rows
