"""SQL of the delivery worker: claim due deliveries, record what the gateway said."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    channel: str
    attempts: int
    recipient: str
    title: str
    body: str
    data: dict[str, Any]
    phone: str | None
    device_id: uuid.UUID | None
    device_token: str | None
    device_active: bool
    expires_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    id: uuid.UUID
    attempts: int
    status: str  # delivered | failed | dead | pending (not attempted after all)
    error: str | None = None
    message_id: str | None = None
    retry_in_seconds: float = 0.0
    #: False when the call was never made (the breaker opened first): the claim is undone.
    attempted: bool = True


_CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM deliveries
         WHERE channel = :channel
           AND ((status IN ('pending', 'failed') AND next_attempt_at <= now())
                OR (status = 'sending'
                    AND sending_since < now() - make_interval(secs => :stuck_after)))
         ORDER BY next_attempt_at
         LIMIT :limit
         FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE deliveries d
           SET status = 'sending', attempts = d.attempts + 1, sending_since = now(),
               updated_at = now()
          FROM due WHERE d.id = due.id
        RETURNING d.id, d.notification_id, d.device_id, d.destination, d.attempts, d.expires_at
    )
    SELECT c.id, c.attempts, n.recipient, n.title, n.body, n.data::text, c.destination,
           c.device_id, v.token, coalesce(v.active, false), c.expires_at
      FROM claimed c
      JOIN notifications n ON n.id = c.notification_id
      LEFT JOIN devices v ON v.id = c.device_id
    """
)

_GIVE_UP_STUCK = text(
    """
    UPDATE deliveries
       SET status = 'dead', last_error = 'no answer from the gateway after the last attempt',
           sending_since = NULL, updated_at = now()
     WHERE status = 'sending' AND attempts >= :max_attempts
       AND sending_since < now() - make_interval(secs => :stuck_after)
    RETURNING channel
    """
)

_RECORD = text(
    """
    UPDATE deliveries d
       SET status = o.status,
           attempts = CASE WHEN o.attempted THEN d.attempts ELSE d.attempts - 1 END,
           last_error = coalesce(o.error, CASE WHEN o.attempted THEN NULL ELSE d.last_error END),
           gateway_message_id = coalesce(o.message_id, d.gateway_message_id),
           next_attempt_at = CASE WHEN o.status IN ('failed', 'pending')
                                  THEN now() + make_interval(secs => o.retry_in)
                                  ELSE d.next_attempt_at END,
           sending_since = NULL,
           updated_at = now()
      FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS int[]), CAST(:statuses AS text[]),
                  CAST(:errors AS text[]), CAST(:message_ids AS text[]),
                  CAST(:retry_in AS float8[]), CAST(:attempted AS boolean[]))
           AS o(id, attempts, status, error, message_id, retry_in, attempted)
     WHERE d.id = o.id AND d.status = 'sending' AND d.attempts = o.attempts
    """
)


async def claim(
    session: AsyncSession, channel: str, limit: int, stuck_after: float
) -> list[Claimed]:
    rows = await session.execute(
        _CLAIM, {"channel": channel, "limit": limit, "stuck_after": stuck_after}
    )
    return [
        Claimed(
            id=r[0],
            channel=channel,
            attempts=r[1],
            recipient=r[2],
            title=r[3],
            body=r[4],
            data=orjson.loads(r[5]),
            phone=r[6],
            device_id=r[7],
            device_token=r[8],
            device_active=r[9],
            expires_at=r[10],
        )
        for r in rows
    ]


async def give_up_stuck(session: AsyncSession, max_attempts: int, stuck_after: float) -> list[str]:
    rows = await session.execute(
        _GIVE_UP_STUCK, {"max_attempts": max_attempts, "stuck_after": stuck_after}
    )
    return [r[0] for r in rows]


async def record(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Write each outcome unless the row moved on meanwhile (re-claimed after a timeout)."""
    if not outcomes:
        return
    await session.execute(
        _RECORD,
        {
            "ids": [o.id for o in outcomes],
            "attempts": [o.attempts for o in outcomes],
            "statuses": [o.status for o in outcomes],
            "errors": [o.error for o in outcomes],
            "message_ids": [o.message_id for o in outcomes],
            "retry_in": [o.retry_in_seconds for o in outcomes],
            "attempted": [o.attempted for o in outcomes],
        },
    )


async def deactivate_devices(
    session: AsyncSession, device_ids: Sequence[uuid.UUID], reason: str
) -> int:
    if not device_ids:
        return 0
    result = await session.execute(
        text(
            "UPDATE devices SET active = false, deactivated_at = now(), deactivated_reason = :r "
            "WHERE id = ANY(CAST(:ids AS uuid[])) AND active"
        ),
        {"ids": list(device_ids), "r": reason},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def scrub_settled_secrets(session: AsyncSession, delivery_ids: Sequence[uuid.UUID]) -> None:
    """Sign-in codes are kept only until their SMS is settled (delivered or dead)."""
    if not delivery_ids:
        return
    await session.execute(
        text(
            """
            UPDATE notifications n SET body = '', data = '{}'::jsonb
              FROM deliveries d
             WHERE d.id = ANY(CAST(:ids AS uuid[])) AND n.id = d.notification_id
               AND d.status IN ('delivered', 'dead')
               AND NOT n.in_inbox AND n.kind = 'sign_in_code'
            """
        ),
        {"ids": list(delivery_ids)},
    )
