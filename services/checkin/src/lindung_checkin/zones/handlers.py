"""Zone levels (``zone.level_changed``): kept for the red-zone warning at the door, and when
a regency turns red (PPKM level 4) everyone who checked in there recently is alerted.

The SQL, the alerts' included, is in :mod:`lindung_checkin.zones.repository`.
"""

from __future__ import annotations

from typing import Any

from lindung_shared.events import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_checkin.zones.repository import apply_zone_change


def zone_handler(alert_days: int) -> Any:
    async def on_zone_level_changed(session: AsyncSession, envelope: Envelope[Any]) -> None:
        await apply_zone_change(session, envelope.payload, alert_days)

    return on_zone_level_changed
