"""All SQL of the inbox and of the fan-out (bulk statements: one round trip per table)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

_INSERT_NOTIFICATIONS = text(
    """
    INSERT INTO notifications
        (id, recipient, kind, template_key, language, title, body, data, in_inbox,
         source_event_id)
    SELECT id, recipient, kind, template_key, language, title, body, data::jsonb, in_inbox,
           source_event_id
      FROM unnest(CAST(:ids AS uuid[]), CAST(:recipients AS text[]), CAST(:kinds AS text[]),
                  CAST(:keys AS text[]), CAST(:languages AS text[]), CAST(:titles AS text[]),
                  CAST(:bodies AS text[]), CAST(:data AS text[]), CAST(:in_inbox AS boolean[]),
                  CAST(:sources AS uuid[]))
           AS t(id, recipient, kind, template_key, language, title, body, data, in_inbox,
                source_event_id)
    ON CONFLICT ON CONSTRAINT uq_notifications_dedupe DO NOTHING
    RETURNING id
    """
)

_INSERT_DELIVERIES = text(
    """
    INSERT INTO deliveries (id, notification_id, channel, device_id, destination, expires_at)
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:notifications AS uuid[]),
                         CAST(:channels AS text[]), CAST(:devices AS uuid[]),
                         CAST(:destinations AS text[]), CAST(:expires AS timestamptz[]))
    ON CONFLICT DO NOTHING
    """
)


async def insert_notifications(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> set[uuid.UUID]:
    """Insert what is new; returns the ids inserted (a replayed event inserts nothing)."""
    if not rows:
        return set()
    columns: dict[str, list[Any]] = {
        "ids": [r["id"] for r in rows],
        "recipients": [r["recipient"] for r in rows],
        "kinds": [r["kind"] for r in rows],
        "keys": [r["template_key"] for r in rows],
        "languages": [r["language"] for r in rows],
        "titles": [r["title"] for r in rows],
        "bodies": [r["body"] for r in rows],
        "data": [r["data"] for r in rows],
        "in_inbox": [r["in_inbox"] for r in rows],
        "sources": [r["source_event_id"] for r in rows],
    }
    return set((await session.execute(_INSERT_NOTIFICATIONS, columns)).scalars())


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    await session.execute(
        _INSERT_DELIVERIES,
        {
            "ids": [r["id"] for r in rows],
            "notifications": [r["notification_id"] for r in rows],
            "channels": [r["channel"] for r in rows],
            "devices": [r["device_id"] for r in rows],
            "destinations": [r["destination"] for r in rows],
            "expires": [r["expires_at"] for r in rows],
        },
    )


async def active_devices(
    session: AsyncSession, subjects: Sequence[str]
) -> dict[str, list[uuid.UUID]]:
    rows = await session.execute(
        text(
            "SELECT recipient, id FROM devices "
            "WHERE active AND recipient = ANY(CAST(:subjects AS text[])) ORDER BY created_at"
        ),
        {"subjects": list(subjects)},
    )
    found: dict[str, list[uuid.UUID]] = {}
    for recipient, device_id in rows:
        found.setdefault(recipient, []).append(device_id)
    return found


_COLUMNS = "id, seq, kind, template_key, language, title, body, data, created_at, read_at"


async def list_inbox(
    session: AsyncSession, recipient: str, *, unread: bool, before: int | None, limit: int
) -> Sequence[Row[Any]]:
    sql = f"SELECT {_COLUMNS} FROM notifications WHERE recipient = :r AND in_inbox"
    params: dict[str, Any] = {"r": recipient, "limit": limit}
    if unread:
        sql += " AND read_at IS NULL"
    if before is not None:
        sql += " AND seq < :before"
        params["before"] = before
    sql += " ORDER BY seq DESC LIMIT :limit"
    return (await session.execute(text(sql), params)).all()


async def since(
    session: AsyncSession,
    recipient: str,
    after_seq: int,
    *,
    floor_seq: int,
    already_sent: Sequence[int] = (),
    window_seconds: float = 30.0,
    limit: int = 100,
) -> Sequence[Row[Any]]:
    """Rows past the cursor, and recent rows between ``floor_seq`` and the cursor not yet
    sent: seq is allocated at insert, not at commit, so a row can commit after a higher one
    was already streamed."""
    return (
        await session.execute(
            text(
                f"(SELECT {_COLUMNS} FROM notifications "
                " WHERE recipient = :r AND in_inbox AND seq > :after ORDER BY seq LIMIT :limit) "
                "UNION ALL "
                f"(SELECT {_COLUMNS} FROM notifications "
                " WHERE recipient = :r AND in_inbox AND seq > :floor AND seq <= :after "
                "   AND created_at > now() - make_interval(secs => :window) "
                "   AND NOT (seq = ANY(CAST(:sent AS bigint[]))) ORDER BY seq LIMIT :limit) "
                "ORDER BY seq"
            ),
            {
                "r": recipient,
                "after": after_seq,
                "floor": floor_seq,
                "window": window_seconds,
                "sent": list(already_sent),
                "limit": limit,
            },
        )
    ).all()


async def latest_seq(session: AsyncSession, recipient: str) -> int:
    value = (
        await session.execute(
            text("SELECT coalesce(max(seq), 0) FROM notifications WHERE recipient = :r"),
            {"r": recipient},
        )
    ).scalar_one()
    return int(value)


async def get(session: AsyncSession, notification_id: uuid.UUID) -> Row[Any] | None:
    return (
        await session.execute(
            text(f"SELECT {_COLUMNS}, recipient, in_inbox FROM notifications WHERE id = :id"),
            {"id": notification_id},
        )
    ).first()


async def mark_read(
    session: AsyncSession, notification_id: uuid.UUID, recipient: str
) -> Row[Any] | None:
    return (
        await session.execute(
            text(
                "UPDATE notifications SET read_at = coalesce(read_at, now()) "
                f"WHERE id = :id AND recipient = :r AND in_inbox RETURNING {_COLUMNS}"
            ),
            {"id": notification_id, "r": recipient},
        )
    ).first()


async def deliveries_of(session: AsyncSession, notification_id: uuid.UUID) -> Sequence[Row[Any]]:
    return (
        await session.execute(
            text(
                "SELECT id, channel, device_id, status, attempts, next_attempt_at, last_error, "
                "gateway_message_id, created_at, updated_at FROM deliveries "
                "WHERE notification_id = :id ORDER BY channel, created_at"
            ),
            {"id": notification_id},
        )
    ).all()
