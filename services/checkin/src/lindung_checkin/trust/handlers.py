"""Consumers of the registry's keys and revocations (thin: decode, then one statement)."""

from __future__ import annotations

from typing import Any

import orjson
from lindung_shared.events import Envelope
from lindung_shared.events.catalogue import QrCodeRevoked, QrKeyPublished, QrKeyRetired
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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


async def on_key_published(session: AsyncSession, envelope: Envelope[Any]) -> None:
    p: QrKeyPublished = envelope.payload
    await session.execute(
        _UPSERT_KEY,
        {
            "key_id": p.key_id,
            "jwk": orjson.dumps(p.jwk).decode(),
            "status": p.status,
            "at": p.published_at,
        },
    )


async def on_key_retired(session: AsyncSession, envelope: Envelope[Any]) -> None:
    p: QrKeyRetired = envelope.payload
    await session.execute(_RETIRE_KEY, {"key_id": p.key_id, "at": p.retired_at})


async def on_qr_revoked(session: AsyncSession, envelope: Envelope[Any]) -> None:
    p: QrCodeRevoked = envelope.payload
    await session.execute(_REVOKE, {"qr_id": p.qr_id, "venue_id": p.venue_id, "at": p.revoked_at})
