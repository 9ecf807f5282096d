from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from lindung_notifier.recipients import repository


async def test_phone_and_language_each_keep_their_latest_change(sessionmaker) -> None:
    me = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        await repository.set_language(session, me, "en")  # chosen in the app, now
        # A contact event from before that choice arrives late: its phone counts, its
        # language does not.
        await repository.upsert_contact(
            session, me, "+6281500000001", "id", now - timedelta(hours=1)
        )
    async with sessionmaker() as session:
        assert await repository.get_contact(session, me) == repository.Contact(
            "+6281500000001", "en"
        )

    async with sessionmaker() as session, session.begin():
        # An even older event changes nothing; a newer one changes both.
        await repository.upsert_contact(
            session, me, "+6281500000009", "id", now - timedelta(hours=2)
        )
    async with sessionmaker() as session:
        assert await repository.get_contact(session, me) == repository.Contact(
            "+6281500000001", "en"
        )
    async with sessionmaker() as session, session.begin():
        await repository.upsert_contact(
            session, me, "+6281500000002", "id", now + timedelta(seconds=5)
        )
    async with sessionmaker() as session:
        assert await repository.get_contact(session, me) == repository.Contact(
            "+6281500000002", "id"
        )
