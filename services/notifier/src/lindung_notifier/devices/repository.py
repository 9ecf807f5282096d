from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession


async def register(session: AsyncSession, recipient: str, platform: str, token: str) -> Row[Any]:
    """Register (or reactivate) a push token for a recipient."""
    return (
        await session.execute(
            text(
                """
                INSERT INTO devices (id, recipient, platform, token)
                VALUES (:id, :recipient, :platform, :token)
                ON CONFLICT (recipient, token) DO UPDATE
                   SET active = true, platform = excluded.platform, deactivated_at = NULL,
                       deactivated_reason = NULL
                RETURNING id, platform, active, created_at
                """
            ),
            {"id": uuid.uuid4(), "recipient": recipient, "platform": platform, "token": token},
        )
    ).one()


async def deactivate(session: AsyncSession, device_id: uuid.UUID, recipient: str) -> bool:
    result = await session.execute(
        text(
            "UPDATE devices SET active = false, deactivated_at = now(), "
            "deactivated_reason = 'removed by its owner' "
            "WHERE id = :id AND recipient = :recipient"
        ),
        {"id": device_id, "recipient": recipient},
    )
    return bool(getattr(result, "rowcount", 0))
