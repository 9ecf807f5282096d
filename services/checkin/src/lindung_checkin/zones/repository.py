"""SQL of the zone levels: the local copy and the red-zone visitor alerts.

The alerts are written straight from SQL into the outbox (one ``INSERT ... SELECT``), in the
same transaction as the zone change, one ``zone.visitor_alert`` per distinct person, through
the event catalogue (``staged_events``; decoded against the contract in
``tests/exposure/test_sql_built_events.py``).
"""

from __future__ import annotations

from lindung_shared.events.catalogue import RED_ZONE_LEVEL, ZoneLevelChanged
from lindung_shared.outbox import OUTBOX_COLUMNS, staged_events
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_UPSERT = text(
    "INSERT INTO zones (regency_code, level, colour, changed_at) "
    "VALUES (:regency_code, :level, :colour, :changed_at) "
    "ON CONFLICT (regency_code) DO UPDATE SET level = EXCLUDED.level, "
    "colour = EXCLUDED.colour, changed_at = EXCLUDED.changed_at "
    "WHERE zones.changed_at <= EXCLUDED.changed_at "
    "RETURNING regency_code"
)

_ALERT_VISITORS = text(
    "INSERT INTO outbox ("
    + OUTBOX_COLUMNS
    + ") SELECT "
    + staged_events(
        "zone.visitor_alert",
        key="r.person_id",
        payload={
            "person_id": "r.person_id",
            "regency_code": "CAST(:regency_code AS text)",
            "level": "CAST(:level AS integer)",
            "colour": "CAST(:colour AS text)",
            "last_visit_at": "r.last_visit_at",
            "changed_at": "CAST(:changed_at AS timestamptz)",
        },
    )
    + """
    FROM (
        SELECT vi.person_id, max(vi.checked_in_at) AS last_visit_at
        FROM venues vn
        JOIN visits vi ON vi.venue_id = vn.venue_id
        WHERE vn.regency_code = :regency_code
          AND vi.checked_in_at >= CAST(:changed_at AS timestamptz) - make_interval(days => :days)
          AND vi.checked_in_at <= CAST(:changed_at AS timestamptz)
        GROUP BY vi.person_id
    ) AS r
    """
)


async def apply_zone_change(
    session: AsyncSession, change: ZoneLevelChanged, alert_days: int
) -> int:
    """Record the level; returns how many visitors were alerted."""
    applied = (
        await session.execute(
            _UPSERT,
            {
                "regency_code": change.regency_code,
                "level": change.level,
                "colour": change.colour,
                "changed_at": change.changed_at,
            },
        )
    ).first()
    turned_red = change.level == RED_ZONE_LEVEL and change.previous_level != RED_ZONE_LEVEL
    if applied is None or not turned_red:
        return 0
    result = await session.execute(
        _ALERT_VISITORS,
        {
            "regency_code": change.regency_code,
            "level": change.level,
            "colour": change.colour,
            "changed_at": change.changed_at,
            "days": alert_days,
            "topic_prefix": "",
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)
