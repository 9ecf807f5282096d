from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from lindung_notifier.api import build_app
from lindung_notifier.notifications.fanout import Intent, fan_out
from lindung_notifier.recipients import repository as recipients
from lindung_notifier.recipients.identity import manager_recipient
from lindung_notifier.testing import sealed
from lindung_shared.testing import app_client, bearer
from sqlalchemy import text


@pytest.fixture(scope="module")
async def client(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(build_app(settings)) as c:
        yield c


async def give(sessionmaker, subject: str, n: int, *, phone: str | None = None) -> None:
    async with sessionmaker() as session, session.begin():
        if phone:
            await recipients.upsert_contact(
                session, subject, sealed(phone), "id", datetime.now(UTC)
            )
        await fan_out(
            session,
            [
                Intent(
                    recipient=subject,
                    kind="case_correction",
                    template_key="case.retracted",
                    params={},
                    source_event_id=uuid.uuid4(),
                    timezone="Asia/Jakarta",
                )
                for _ in range(n)
            ],
        )


async def test_inbox_is_own_paginated_and_filters_unread(settings, sessionmaker, client) -> None:
    me, other = str(uuid.uuid4()), str(uuid.uuid4())
    await give(sessionmaker, me, 5)
    await give(sessionmaker, other, 2)
    auth = bearer(settings, "citizen", me)

    first = (await client.get("/v1/notifications?limit=3", headers=auth)).json()
    assert len(first["items"]) == 3
    second = (
        await client.get(f"/v1/notifications?limit=3&before={first['next_before']}", headers=auth)
    ).json()
    assert len(second["items"]) == 2 and second["next_before"] is None
    seqs = [i["seq"] for i in first["items"] + second["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 5

    target = first["items"][0]["id"]
    read = await client.post(f"/v1/notifications/{target}/read", headers=auth)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = (await client.get("/v1/notifications?unread=true", headers=auth)).json()
    assert target not in {i["id"] for i in unread["items"]} and len(unread["items"]) == 4

    # Someone else's notification is not mine to read.
    theirs = (
        await client.get("/v1/notifications", headers=bearer(settings, "citizen", other))
    ).json()["items"][0]["id"]
    assert (await client.post(f"/v1/notifications/{theirs}/read", headers=auth)).status_code == 404


async def test_inbox_needs_a_citizen_or_manager_token(settings, client) -> None:
    assert (await client.get("/v1/notifications")).status_code == 401
    officer = bearer(settings, "health_officer")
    assert (await client.get("/v1/notifications", headers=officer)).status_code == 403
    manager = bearer(settings, "venue_manager", "mgr-" + uuid.uuid4().hex)
    assert (await client.get("/v1/notifications", headers=manager)).status_code == 200


async def test_a_manager_token_never_reaches_a_persons_inbox(
    settings, sessionmaker, client
) -> None:
    """A manager's subject equal to a person id reads the manager's inbox, not the person's."""
    person = str(uuid.uuid4())
    await give(sessionmaker, person, 2)
    await give(sessionmaker, manager_recipient(person), 1)
    as_person = bearer(settings, "citizen", person)
    as_manager = bearer(settings, "venue_manager", person)
    mine = (await client.get("/v1/notifications", headers=as_person)).json()["items"]
    theirs = (await client.get("/v1/notifications", headers=as_manager)).json()["items"]
    assert len(mine) == 2 and len(theirs) == 1
    assert not {n["id"] for n in mine} & {n["id"] for n in theirs}
    read = await client.post(f"/v1/notifications/{mine[0]['id']}/read", headers=as_manager)
    assert read.status_code == 404
    devices = await client.post(
        "/v1/devices", json={"platform": "android", "token": "fcm-manager-1"}, headers=as_manager
    )
    assert devices.status_code == 201
    async with sessionmaker() as session:
        owners = (
            (
                await session.execute(
                    text("SELECT DISTINCT recipient FROM devices WHERE token = 'fcm-manager-1'")
                )
            )
            .scalars()
            .all()
        )
    assert owners == [manager_recipient(person)]


async def test_delivery_status_for_the_owner_and_officers_only(
    settings, sessionmaker, client
) -> None:
    me = str(uuid.uuid4())
    await give(sessionmaker, me, 1, phone="+6281200000001")
    mine = bearer(settings, "citizen", me)
    notification = (await client.get("/v1/notifications", headers=mine)).json()["items"][0]
    url = f"/v1/notifications/{notification['id']}/deliveries"

    own = await client.get(url, headers=mine)
    assert own.status_code == 200
    assert [(d["channel"], d["status"], d["attempts"]) for d in own.json()] == [
        ("sms", "pending", 0)
    ]
    officer = bearer(settings, "health_officer", f"officer-{me[:8]}")
    # an officer reads someone else's delivery status only with a reason, and is audited
    no_reason = await client.get(url, headers=officer)
    assert no_reason.status_code == 422
    assert no_reason.json()["type"].endswith("reason-required")
    why = f"complaint {me[:8]}: no SMS received"
    assert (await client.get(url, headers=officer, params={"reason": why})).status_code == 200
    service = bearer(settings, "service")
    assert (await client.get(url, headers=service, params={"reason": "sync"})).status_code == 200
    log = (
        await client.get(
            "/v1/audit-log",
            headers=bearer(settings, "admin"),
            params={"action": "notification.deliveries.read", "actor": f"officer-{me[:8]}"},
        )
    ).json()["entries"]
    assert [(e["target"], e["reason"]) for e in log] == [
        (f"notification:{notification['id']}", why)
    ]
    stranger = bearer(settings, "citizen", str(uuid.uuid4()))
    assert (await client.get(url, headers=stranger)).status_code == 404


async def test_devices_register_reactivate_and_delete(settings, sessionmaker, client) -> None:
    me = str(uuid.uuid4())
    auth = bearer(settings, "citizen", me)
    created = await client.post(
        "/v1/devices", json={"platform": "android", "token": "fcm-token-123456"}, headers=auth
    )
    assert created.status_code == 201
    device_id = created.json()["id"]
    again = await client.post(
        "/v1/devices", json={"platform": "android", "token": "fcm-token-123456"}, headers=auth
    )
    assert again.json()["id"] == device_id  # one device per token

    other = bearer(settings, "citizen", str(uuid.uuid4()))
    assert (await client.delete(f"/v1/devices/{device_id}", headers=other)).status_code == 404
    assert (await client.delete(f"/v1/devices/{device_id}", headers=auth)).status_code == 204
    async with sessionmaker() as session:
        active = (
            await session.execute(
                text("SELECT active FROM devices WHERE id = :i"), {"i": device_id}
            )
        ).scalar_one()
    assert active is False

    bad = await client.post("/v1/devices", json={"platform": "nokia", "token": "x"}, headers=auth)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_preferences_choose_the_language_of_later_notifications(
    settings, sessionmaker, client
) -> None:
    manager = "mgr-" + uuid.uuid4().hex
    auth = bearer(settings, "venue_manager", manager)
    assert (await client.get("/v1/me/preferences", headers=auth)).json() == {"language": "id"}
    put = await client.put("/v1/me/preferences", json={"language": "en"}, headers=auth)
    assert put.json() == {"language": "en"}
    await give(sessionmaker, manager_recipient(manager), 1)
    item = (await client.get("/v1/notifications", headers=auth)).json()["items"][0]
    assert item["language"] == "en"
    assert item["title"] == "Correction: positive result withdrawn"
