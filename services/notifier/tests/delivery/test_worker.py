"""The delivery worker against real local HTTP gateways: healthy, flaky, slow, down."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from lindung_notifier.delivery.channels import PushChannel, SmsChannel
from lindung_notifier.delivery.policy import BreakerState
from lindung_notifier.delivery.worker import DeliveryWorker
from lindung_notifier.notifications.fanout import SMS, Intent, fan_out
from lindung_notifier.recipients import repository as recipients
from lindung_notifier.settings import Settings
from lindung_notifier.testing import sealed
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.usefixtures("clean_deliveries")


def tuned(settings: Settings, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "delivery_backoff_base_seconds": 0.02,
        "delivery_backoff_max_seconds": 0.1,
        "delivery_max_attempts": 5,
        "breaker_failure_threshold": 100,
        "breaker_cooldown_seconds": 0.2,
        "gateway_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def make_worker(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: aiohttp.ClientSession,
    *,
    sms_url: str,
    push_url: str,
) -> DeliveryWorker:
    token = SecretStr("test-token")
    timeout = settings.gateway_timeout_seconds
    return DeliveryWorker(
        settings,
        sessionmaker,
        [
            PushChannel(client, push_url, token, timeout),
            SmsChannel(client, sms_url, token, timeout),
        ],
    )


async def person(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    phone: str | None = None,
    language: str = "id",
    device_tokens: tuple[str, ...] = (),
) -> str:
    subject = str(uuid.uuid4())
    async with sessionmaker() as session, session.begin():
        if phone:
            await recipients.upsert_contact(
                session, subject, sealed(phone), language, datetime.now(UTC)
            )
        for token in device_tokens:
            await session.execute(
                text(
                    "INSERT INTO devices (id, recipient, platform, token) "
                    "VALUES (:id, :r, 'android', :t)"
                ),
                {"id": uuid.uuid4(), "r": subject, "t": token},
            )
    return subject


async def notify(sessionmaker: async_sessionmaker[AsyncSession], *subjects: str, **kw: Any) -> None:
    intents = [
        Intent(
            recipient=s,
            kind=kw.get("kind", "case_correction"),
            template_key=kw.get("template_key", "case.retracted"),
            params=kw.get("params", {}),
            source_event_id=uuid.uuid4(),
            timezone="Asia/Jakarta",
            data={"case_ref": "C-1"},
            channels=kw.get("channels", ("push", "sms")),
            expires_at=kw.get("expires_at"),
            in_inbox=kw.get("in_inbox", True),
            phone=sealed(kw["phone"]) if kw.get("phone") else None,
        )
        for s in subjects
    ]
    async with sessionmaker() as session, session.begin():
        await fan_out(session, intents)


async def statuses(
    sessionmaker: async_sessionmaker[AsyncSession], subject: str
) -> list[tuple[str, str, int]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT d.channel, d.status, d.attempts FROM deliveries d "
                "JOIN notifications n ON n.id = d.notification_id WHERE n.recipient = :r "
                "ORDER BY d.channel, d.status"
            ),
            {"r": subject},
        )
        return [(r[0], r[1], r[2]) for r in rows]


async def drain_until(worker: DeliveryWorker, done: Any, seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await worker.drain()
        if await done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_healthy_gateways_deliver_each_message_once_per_channel_and_device(
    settings, sessionmaker, gateways, http_client
) -> None:
    sms, push = await gateways("sms"), await gateways("push")
    worker = make_worker(
        tuned(settings), sessionmaker, http_client, sms_url=sms.url, push_url=push.url
    )
    alice = await person(sessionmaker, phone="+6281100000001", device_tokens=("tok-a1", "tok-a2"))
    bob = await person(sessionmaker, phone="+6281100000002", language="en")
    manager = await person(sessionmaker, device_tokens=("tok-m1",))
    await notify(sessionmaker, alice, bob, manager)

    await worker.drain()
    await worker.drain()  # nothing left: a second pass sends nothing again

    assert len(sms.texts_to("+6281100000001")) == 1
    assert sms.texts_to("+6281100000002") == [
        "Your positive result was corrected and withdrawn. Disregard the earlier isolation "
        "guidance."
    ]
    assert [m["notification"]["title"] for m in push.pushes_to("tok-a1")] == [
        "Koreksi: hasil positif dibatalkan"
    ]
    assert len(push.pushes_to("tok-a2")) == 1
    assert push.pushes_to("tok-m1")[0]["data"]["case_ref"] == "C-1"
    assert sms.calls == 2 and push.calls == 3
    assert await statuses(sessionmaker, alice) == [
        ("push", "delivered", 1),
        ("push", "delivered", 1),
        ("sms", "delivered", 1),
    ]
    assert await statuses(sessionmaker, manager) == [("push", "delivered", 1)]


async def test_a_flaky_gateway_is_retried_until_it_delivers_once(
    down_url, settings, sessionmaker, gateways, http_client
) -> None:
    sms = await gateways("sms", fail_first=3)
    worker = make_worker(
        tuned(settings), sessionmaker, http_client, sms_url=sms.url, push_url=down_url
    )
    carol = await person(sessionmaker, phone="+6281100000003")
    await notify(sessionmaker, carol)

    async def delivered() -> bool:
        return await statuses(sessionmaker, carol) == [("sms", "delivered", 4)]

    await drain_until(worker, delivered)
    assert sms.calls == 4
    assert len(sms.texts_to("+6281100000003")) == 1


async def test_a_gateway_that_stays_down_ends_dead_after_the_last_attempt(
    down_url, settings, sessionmaker, http_client
) -> None:
    worker = make_worker(
        tuned(settings, delivery_max_attempts=3),
        sessionmaker,
        http_client,
        sms_url=down_url,
        push_url=down_url,
    )
    dave = await person(sessionmaker, phone="+6281100000004")
    await notify(sessionmaker, dave)

    async def dead() -> bool:
        return await statuses(sessionmaker, dave) == [("sms", "dead", 3)]

    await drain_until(worker, dead)
    async with sessionmaker() as session:
        error = (await session.execute(text("SELECT last_error FROM deliveries"))).scalar_one()
    assert "unreachable" in error
    for _ in range(3):  # dead is final
        await worker.drain()
        await asyncio.sleep(0.05)
    assert await statuses(sessionmaker, dave) == [("sms", "dead", 3)]


async def test_the_breaker_opens_and_a_probe_closes_it_when_the_gateway_is_back(
    down_url, settings, sessionmaker, gateways, http_client
) -> None:
    sms = await gateways("sms", fail_first=2)
    worker = make_worker(
        tuned(
            settings,
            breaker_failure_threshold=2,
            breaker_cooldown_seconds=0.3,
            delivery_concurrency=1,
            delivery_max_attempts=10,
        ),
        sessionmaker,
        http_client,
        sms_url=sms.url,
        push_url=down_url,
    )
    people = [await person(sessionmaker, phone=f"+62811000001{i:02d}") for i in range(5)]
    await notify(sessionmaker, *people)

    await worker.run_once()
    breaker = worker.breakers["sms"]
    assert breaker.state is BreakerState.OPEN
    assert sms.calls == 2  # the other three were not even tried
    await worker.drain()  # open: no calls at all
    assert sms.calls == 2
    async with sessionmaker() as session:
        attempts = sorted(
            (await session.execute(text("SELECT attempts FROM deliveries"))).scalars()
        )
    assert attempts == [0, 0, 0, 1, 1]

    await asyncio.sleep(0.35)
    await asyncio.sleep(0.15)  # past the retry backoff too

    async def all_delivered() -> bool:
        async with sessionmaker() as session:
            left = await session.execute(
                text("SELECT count(*) FROM deliveries WHERE status <> 'delivered'")
            )
            return left.scalar_one() == 0

    await drain_until(worker, all_delivered)
    assert breaker.state is BreakerState.CLOSED
    for i in range(5):
        assert len(sms.texts_to(f"+62811000001{i:02d}")) == 1
    assert sms.calls == 7


async def test_a_slow_gateway_within_the_timeout_delivers_once(
    down_url, settings, sessionmaker, gateways, http_client
) -> None:
    sms = await gateways("sms", delay=0.4)
    worker = make_worker(
        tuned(settings, gateway_timeout_seconds=2.0),
        sessionmaker,
        http_client,
        sms_url=sms.url,
        push_url=down_url,
    )
    erin = await person(sessionmaker, phone="+6281100000005")
    await notify(sessionmaker, erin)
    await worker.drain()
    assert await statuses(sessionmaker, erin) == [("sms", "delivered", 1)]
    assert len(sms.texts_to("+6281100000005")) == 1


async def test_a_lost_answer_is_resent_with_the_same_reference_and_not_received_twice(
    down_url, settings, sessionmaker, gateways, http_client
) -> None:
    # The gateway takes the first request but answers after the client gave up.
    sms = await gateways("sms", delay=1.0, slow_first_only=True)
    worker = make_worker(
        tuned(settings, gateway_timeout_seconds=0.3),
        sessionmaker,
        http_client,
        sms_url=sms.url,
        push_url=down_url,
    )
    frank = await person(sessionmaker, phone="+6281100000006")
    await notify(sessionmaker, frank)

    async def delivered() -> bool:
        return await statuses(sessionmaker, frank) == [("sms", "delivered", 2)]

    await drain_until(worker, delivered)
    assert sms.calls == 2
    assert len(sms.texts_to("+6281100000006")) == 1
    assert len(sms.by_reference) == 1


async def test_a_delivery_stuck_in_sending_is_resent_with_its_reference(
    down_url, settings, sessionmaker, gateways, http_client
) -> None:
    """A worker crashed after committing 'sending' (and maybe after the gateway got it)."""
    sms = await gateways("sms")
    worker = make_worker(
        tuned(settings, delivery_sending_timeout_seconds=1),
        sessionmaker,
        http_client,
        sms_url=sms.url,
        push_url=down_url,
    )
    grace = await person(sessionmaker, phone="+6281100000007")
    await notify(sessionmaker, grace)
    async with sessionmaker() as session, session.begin():
        delivery_id = (
            await session.execute(
                text(
                    "UPDATE deliveries SET status = 'sending', attempts = 1, "
                    "sending_since = now() RETURNING id"
                )
            )
        ).scalar_one()
    # The crashed worker's call had reached the gateway.
    sms.by_reference[str(delivery_id)] = "sms-first"
    sms.received.append({"to": "+6281100000007", "text": "x", "reference": str(delivery_id)})

    await worker.drain()
    assert sms.calls == 0  # not yet: it may still be in flight
    await asyncio.sleep(1.1)
    await worker.drain()
    assert sms.calls == 1
    assert len(sms.texts_to("+6281100000007")) == 1
    async with sessionmaker() as session:
        row = (
            await session.execute(
                text("SELECT status, attempts, gateway_message_id FROM deliveries")
            )
        ).one()
    assert tuple(row) == ("delivered", 2, "sms-first")


async def test_an_invalid_push_token_deactivates_the_device(
    down_url, settings, sessionmaker, gateways, http_client
) -> None:
    push = await gateways("push")
    worker = make_worker(
        tuned(settings), sessionmaker, http_client, sms_url=down_url, push_url=push.url
    )
    henry = await person(sessionmaker, device_tokens=("bad-token-1", "good-token-1"))
    await notify(sessionmaker, henry)
    await worker.drain()
    assert await statuses(sessionmaker, henry) == [("push", "dead", 1), ("push", "delivered", 1)]
    async with sessionmaker() as session:
        active = dict(
            (
                await session.execute(
                    text("SELECT token, active FROM devices WHERE recipient = :r"), {"r": henry}
                )
            ).all()
        )
    assert active == {"bad-token-1": False, "good-token-1": True}

    await notify(sessionmaker, henry)  # the next message goes to the good device only
    await worker.drain()
    assert len(push.pushes_to("good-token-1")) == 2
    assert push.calls == 3


async def test_an_expired_sign_in_code_is_not_sent(
    down_url, settings, sessionmaker, gateways, http_client
) -> None:
    sms = await gateways("sms")
    worker = make_worker(
        tuned(settings), sessionmaker, http_client, sms_url=sms.url, push_url=down_url
    )
    ivan = await person(sessionmaker)
    await notify(
        sessionmaker,
        ivan,
        kind="sign_in_code",
        template_key="sign_in.code",
        params={"code": "123456", "expires": datetime.now(UTC)},
        channels=(SMS,),
        in_inbox=False,
        phone="+6281100000009",
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    await worker.drain()
    assert sms.calls == 0
    assert await statuses(sessionmaker, ivan) == [("sms", "dead", 1)]
    async with sessionmaker() as session:
        body = (
            await session.execute(
                text("SELECT body FROM notifications WHERE recipient = :r"), {"r": ivan}
            )
        ).scalar_one()
    assert body == ""  # the code is not kept once its SMS is settled


async def test_two_workers_share_the_table_and_each_message_goes_once(
    down_url, settings, sessionmaker, gateways, http_client
) -> None:
    sms = await gateways("sms", delay=0.01)
    tuned_settings = tuned(settings, delivery_batch_size=20)
    workers = [
        make_worker(tuned_settings, sessionmaker, http_client, sms_url=sms.url, push_url=down_url)
        for _ in range(2)
    ]
    people = [await person(sessionmaker, phone=f"+62811000002{i:02d}") for i in range(60)]
    await notify(sessionmaker, *people)
    await asyncio.gather(*(w.drain() for w in workers))
    assert sms.calls == 60
    for i in range(60):
        assert len(sms.texts_to(f"+62811000002{i:02d}")) == 1
