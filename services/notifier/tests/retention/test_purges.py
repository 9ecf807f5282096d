"""Each retention purge of the notifier deletes what is past its time and nothing else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from lindung_notifier.retention.purges import purges
from lindung_shared.metrics import PURGED_ROWS
from lindung_shared.retention import run_purges
from sqlalchemy import text

NOW = datetime.now(UTC)


async def _notification(session, kind: str, age: timedelta) -> uuid.UUID:
    notification = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO notifications (id, recipient, kind, template_key, language, title, "
            "body, in_inbox, source_event_id, created_at) VALUES (:id, :r, :k, 't', 'id', "
            "'title', 'body', :inbox, :e, :at)"
        ),
        {
            "id": notification,
            "r": str(uuid.uuid4()),
            "k": kind,
            "inbox": kind != "sign_in_code",
            "e": uuid.uuid4(),
            "at": NOW - age,
        },
    )
    return notification


async def _delivery(session, notification: uuid.UUID, status: str, age: timedelta, device=None):
    delivery = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO deliveries (id, notification_id, channel, device_id, destination, "
            "status, created_at, updated_at) VALUES (:id, :n, :c, :d, :dest, :s, :at, :at)"
        ),
        {
            "id": delivery,
            "n": notification,
            "c": "push" if device else "sms",
            "d": device,
            "dest": None if device else "+6281234567890",
            "s": status,
            "at": NOW - age,
        },
    )
    return delivery


async def _device(session, active: bool, age: timedelta) -> uuid.UUID:
    device = uuid.uuid4()
    await session.execute(
        text(
            "INSERT INTO devices (id, recipient, platform, token, active, deactivated_at) "
            "VALUES (:id, :r, 'android', :t, :a, :at)"
        ),
        {
            "id": device,
            "r": str(uuid.uuid4()),
            "t": uuid.uuid4().hex,
            "a": active,
            "at": None if active else NOW - age,
        },
    )
    return device


async def _exists(sessionmaker, table: str, row_id: uuid.UUID) -> bool:
    async with sessionmaker() as session:
        found = await session.execute(text(f"SELECT 1 FROM {table} WHERE id = :id"), {"id": row_id})
        return found.first() is not None


async def test_every_purge_deletes_what_is_past_its_time(settings, sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        old_code = await _notification(session, "sign_in_code", timedelta(hours=7))
        old_code_delivery = await _delivery(session, old_code, "delivered", timedelta(hours=7))
        new_code = await _notification(session, "sign_in_code", timedelta(hours=5))
        old_notice = await _notification(session, "exposure", timedelta(days=36))
        old_notice_delivery = await _delivery(session, old_notice, "dead", timedelta(days=36))
        new_notice = await _notification(session, "exposure", timedelta(days=20))
        finished_old = await _delivery(session, new_notice, "delivered", timedelta(days=8))
        notice = await _notification(session, "exposure", timedelta(days=9))
        pending_old = await _delivery(session, notice, "pending", timedelta(days=8))
        notice = await _notification(session, "exposure", timedelta(days=9))
        finished_new = await _delivery(session, notice, "dead", timedelta(days=6))
        gone_device = await _device(session, active=False, age=timedelta(days=31))
        used_device = await _device(session, active=False, age=timedelta(days=31))
        await _delivery(session, new_notice, "pending", timedelta(days=1), device=used_device)
        recent_off = await _device(session, active=False, age=timedelta(days=29))
        active_device = await _device(session, active=True, age=timedelta(days=400))
    kinds = ("sign_in_code_notifications", "notifications", "deliveries", "devices")
    before = {k: PURGED_ROWS.labels("notifier", k)._value.get() for k in kinds}

    done = await run_purges(sessionmaker, "notifier", purges(settings, NOW), batch_size=1)

    assert set(done) == set(kinds)
    for table, row in (
        ("notifications", old_code),
        ("deliveries", old_code_delivery),
        ("notifications", old_notice),
        ("deliveries", old_notice_delivery),
        ("deliveries", finished_old),
        ("devices", gone_device),
    ):
        assert not await _exists(sessionmaker, table, row), (table, row)
    for table, row in (
        ("notifications", new_code),
        ("notifications", new_notice),
        ("deliveries", pending_old),
        ("deliveries", finished_new),
        ("devices", used_device),
        ("devices", recent_off),
        ("devices", active_device),
    ):
        assert await _exists(sessionmaker, table, row), (table, row)
    for kind in kinds:
        assert done[kind] >= 1, kind
        assert PURGED_ROWS.labels("notifier", kind)._value.get() >= before[kind] + 1
