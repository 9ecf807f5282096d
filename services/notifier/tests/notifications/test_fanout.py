from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from lindung_notifier.metrics import NO_CHANNEL
from lindung_notifier.notifications.fanout import Intent, fan_out
from lindung_notifier.recipients import repository as recipients
from lindung_notifier.templates.render import UnknownTemplate
from sqlalchemy import text


def intent(recipient: str, source: uuid.UUID, kind: str = "case_correction") -> Intent:
    return Intent(
        recipient=recipient,
        kind=kind,
        template_key="case.retracted",
        params={},
        source_event_id=source,
        timezone="Asia/Jakarta",
    )


async def test_the_dedupe_key_alone_stops_a_second_notification(sessionmaker) -> None:
    """Even past the consumer's processed-events ledger (another group, a manual replay)."""
    person, source = str(uuid.uuid4()), uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        await recipients.upsert_contact(session, person, "+6281400000001", "id", datetime.now(UTC))
        first = await fan_out(session, [intent(person, source)])
    async with sessionmaker() as session, session.begin():
        second = await fan_out(session, [intent(person, source), intent(person, source, "other")])
    assert (first.created, first.deliveries) == (1, 1)
    assert (second.created, second.duplicates, second.deliveries) == (1, 1, 1)
    async with sessionmaker() as session:
        kinds = (
            await session.execute(
                text("SELECT kind FROM notifications WHERE recipient = :r ORDER BY kind"),
                {"r": person},
            )
        ).scalars()
        assert list(kinds) == ["case_correction", "other"]


async def test_no_channel_still_gets_the_inbox_entry_and_is_counted(sessionmaker) -> None:
    before = NO_CHANNEL.labels("case_correction")._value.get()
    person = str(uuid.uuid4())
    async with sessionmaker() as session, session.begin():
        result = await fan_out(session, [intent(person, uuid.uuid4())])
    assert (result.created, result.deliveries, result.without_channel) == (1, 0, 1)
    assert NO_CHANNEL.labels("case_correction")._value.get() == before + 1


async def test_an_unknown_template_writes_nothing(sessionmaker) -> None:
    person = str(uuid.uuid4())
    bad = Intent(
        recipient=person,
        kind="zone",
        template_key="zone.purple",
        params={},
        source_event_id=uuid.uuid4(),
        timezone="Asia/Jakarta",
    )
    with pytest.raises(UnknownTemplate):
        async with sessionmaker() as session, session.begin():
            await fan_out(session, [intent(person, uuid.uuid4()), bad])
    async with sessionmaker() as session:
        count = (
            await session.execute(
                text("SELECT count(*) FROM notifications WHERE recipient = :r"), {"r": person}
            )
        ).scalar_one()
    assert count == 0
