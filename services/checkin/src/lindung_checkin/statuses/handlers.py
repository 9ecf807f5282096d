"""Keeps the local copy of each person's colour (``status.changed``).

A person with no row here is screened as red (nothing is known of a vaccination), and so is
a person whose status has passed its ``valid_until``: see ``checkin_scan``.
"""

from __future__ import annotations

from typing import Any

from lindung_shared.events import Envelope
from lindung_shared.events.catalogue import StatusChanged
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_UPSERT = text(
    "INSERT INTO person_status (person_id, colour, valid_until, rule_version, changed_at) "
    "VALUES (:person_id, :colour, :valid_until, :rule_version, :changed_at) "
    "ON CONFLICT (person_id) DO UPDATE SET colour = EXCLUDED.colour, "
    "valid_until = EXCLUDED.valid_until, rule_version = EXCLUDED.rule_version, "
    "changed_at = EXCLUDED.changed_at "
    "WHERE person_status.changed_at <= EXCLUDED.changed_at"
)


async def on_status_changed(session: AsyncSession, envelope: Envelope[Any]) -> None:
    p: StatusChanged = envelope.payload
    await session.execute(
        _UPSERT,
        {
            "person_id": p.person_id,
            "colour": p.colour.value,
            "valid_until": p.valid_until,
            "rule_version": p.rule_version,
            "changed_at": p.changed_at,
        },
    )
