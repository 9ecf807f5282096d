"""All SQL of the exposure matcher.

Matching is one set-based statement: the case's visits in its infectious window, every other
visit at the same venue that overlaps them (widened by the category's margins), the longest
overlap per contact, recorded in the ``reported_exposures`` ledger unless that (case, contact)
pair is there already and, for the rows actually inserted, the events written straight into
the outbox. Exactly-once, however often and by however many matcher instances a case is
handled: the case's ``exposure_cases`` row is locked first (serialising one case's matching
across transactions), the ledger is read under that lock, and its primary key (case, contact)
rejects anything that would still slip through.

Visit stays are half-open ``[checked_in_at, coalesce(checked_out_at, auto_checkout_at))``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lindung_shared.outbox import OUTBOX_COLUMNS, staged_events
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The events this module stages from SQL, built from the catalogue (topic, type, version,
# producer; every payload field checked against the contract when this module is imported).
_EXPOSURE_DETECTED = staged_events(
    "exposure.detected",
    key="r.contact_person_id",
    payload={
        "exposure_id": "r.exposure_id",
        "case_ref": "CAST(:case_ref AS text)",
        "contact_person_id": "r.contact_person_id",
        "venue_id": "r.venue_id",
        "venue_name": "w.venue_name",
        "venue_timezone": "w.venue_timezone",
        "overlap_start": "r.overlap_start",
        "overlap_end": "r.overlap_end",
        "overlap_minutes": "r.overlap_minutes",
    },
)
_EXPOSURE_RETRACTED = staged_events(
    "exposure.retracted",
    key="r.contact_person_id",
    payload={
        "exposure_id": "r.exposure_id",
        "case_ref": "r.case_ref",
        "contact_person_id": "r.contact_person_id",
        "venue_id": "r.venue_id",
    },
)
#: A venue alert (and its withdrawal) from a case visit ``s`` and its venue ``w``: written once.
_CASE_VISIT_PAYLOAD = {
    "case_ref": "CAST(:case_ref AS text)",
    "venue_id": "s.venue_id",
    "manager_id": "w.manager_id",
    "venue_name": "w.venue_name",
    "venue_timezone": "w.venue_timezone",
    "visit_start": "s.visit_start",
    "visit_end": "s.visit_end",
}
_CASE_VISITED = staged_events("venue.case_visited", key="s.venue_id", payload=_CASE_VISIT_PAYLOAD)
_CASE_VISIT_RETRACTED = staged_events(
    "venue.case_visit_retracted", key="s.venue_id", payload=_CASE_VISIT_PAYLOAD
)


@dataclass(frozen=True)
class CaseWindow:
    case_id: uuid.UUID
    case_ref: str
    person_id: uuid.UUID
    infectious_from: datetime
    infectious_until: datetime


@dataclass(frozen=True)
class MatchCounts:
    exposures: int
    venue_alerts: int


_CLAIM_CASE = text(
    """
    INSERT INTO exposure_cases
        (case_id, case_ref, person_id, infectious_from, infectious_until, confirmed_at,
         traced_from, traced_until)
    VALUES (:case_id, :case_ref, :person_id, :infectious_from, :infectious_until, now(),
            :traced_from, :traced_until)
    ON CONFLICT (case_id) DO UPDATE
        SET confirmed_at = coalesce(exposure_cases.confirmed_at, excluded.confirmed_at),
            infectious_from = coalesce(exposure_cases.infectious_from, excluded.infectious_from),
            infectious_until = coalesce(exposure_cases.infectious_until, excluded.infectious_until),
            traced_from = coalesce(exposure_cases.traced_from, excluded.traced_from),
            traced_until = coalesce(exposure_cases.traced_until, excluded.traced_until)
    RETURNING retracted_at IS NOT NULL
    """
)

# The shape of the rows below mirrors lindung_checkin.exposure.overlap; keep them in step.
#: The read-only part of matching: CTEs ending in ``contact`` (one row per close contact).
CONTACTS_SQL = """
    WITH case_visit AS (
        SELECT v.visit_id, v.venue_id,
               v.checked_in_at AS stay_start,
               coalesce(v.checked_out_at, v.auto_checkout_at) AS stay_end,
               greatest(v.checked_in_at, CAST(:ws AS timestamptz)) AS infectious_start,
               least(coalesce(v.checked_out_at, v.auto_checkout_at), CAST(:we AS timestamptz))
                   AS infectious_end
        FROM visits v
        WHERE v.person_id = :person_id
          AND v.checked_in_at < CAST(:we AS timestamptz)
          AND v.checked_in_at >= CAST(:ws AS timestamptz) - CAST(:max_stay AS interval)
          AND coalesce(v.checked_out_at, v.auto_checkout_at) > CAST(:ws AS timestamptz)
    ),
    case_window AS (
        SELECT cv.*, ve.name AS venue_name, ve.timezone AS venue_timezone, ve.manager_id,
               cv.infectious_start - r.margin_before AS exposed_from,
               cv.infectious_end + r.margin_after AS exposed_until,
               r.min_overlap
        FROM case_visit cv
        JOIN venues ve ON ve.venue_id = cv.venue_id
        CROSS JOIN LATERAL (
            SELECT make_interval(mins => er.margin_before_minutes) AS margin_before,
                   make_interval(mins => er.margin_after_minutes) AS margin_after,
                   er.min_overlap_minutes * interval '1 minute' AS min_overlap
            FROM exposure_rules er
            WHERE er.category IN (ve.category, '*')
            ORDER BY er.category = '*'
            LIMIT 1
        ) r
        WHERE cv.infectious_end > cv.infectious_start
    ),
    overlap AS (
        SELECT w.visit_id AS case_visit_id, w.venue_id, w.min_overlap, c.contact_person_id,
               greatest(w.exposed_from, c.checked_in_at) AS overlap_start,
               least(w.exposed_until, c.stay_end) AS overlap_end
        FROM case_window w
        CROSS JOIN LATERAL (
            -- One index-only range scan of (venue_id, checked_in_at) per case visit. OFFSET 0
            -- keeps the planner from flattening this into a hash join over every visit.
            SELECT o.person_id AS contact_person_id, o.checked_in_at,
                   coalesce(o.checked_out_at, o.auto_checkout_at) AS stay_end
            FROM visits o
            WHERE o.venue_id = w.venue_id
              AND o.checked_in_at < w.exposed_until
              AND o.checked_in_at >= w.exposed_from - CAST(:max_stay AS interval)
              AND coalesce(o.checked_out_at, o.auto_checkout_at) > w.exposed_from
              AND o.person_id <> :person_id
            OFFSET 0
        ) c
    ),
    contact AS (
        SELECT DISTINCT ON (contact_person_id) *
        FROM overlap
        WHERE overlap_end > overlap_start AND overlap_end - overlap_start >= min_overlap
        ORDER BY contact_person_id, overlap_end - overlap_start DESC, overlap_start, venue_id,
                 case_visit_id
    )"""

#: Matching: the contacts recorded in the ledger, and their events staged in the outbox.
MATCH_SQL = (
    CONTACTS_SQL
    + """,
    recorded AS (
        INSERT INTO reported_exposures
            (case_id, contact_person_id, exposure_id, case_ref, venue_id, case_visit_id,
             overlap_start, overlap_end, overlap_minutes)
        SELECT CAST(:case_id AS uuid), contact_person_id, gen_random_uuid(),
               CAST(:case_ref AS text), venue_id,
               case_visit_id, overlap_start, overlap_end,
               CAST(extract(epoch FROM overlap_end - overlap_start) / 60 AS double precision)
        FROM contact
        -- Not ON CONFLICT: speculative insertion made this insert ~1.5x slower. The
        -- case's row in exposure_cases, locked by claim_case, serialises the matching of one
        -- case, so this anti-join sees every pair already reported (the primary key still
        -- guards the invariant).
        WHERE NOT EXISTS (
            SELECT 1 FROM reported_exposures done
            WHERE done.case_id = CAST(:case_id AS uuid)
              AND done.contact_person_id = contact.contact_person_id
        )
        ORDER BY contact_person_id
        RETURNING exposure_id, contact_person_id, venue_id, case_visit_id, overlap_start,
                  overlap_end, overlap_minutes
    ),
    visited AS (
        INSERT INTO reported_case_visits (case_id, visit_id, venue_id, visit_start, visit_end)
        SELECT CAST(:case_id AS uuid), visit_id, venue_id, stay_start, stay_end
        FROM case_window
        ORDER BY visit_id
        ON CONFLICT DO NOTHING
        RETURNING visit_id, venue_id, visit_start, visit_end
    ),
    published AS (
        INSERT INTO outbox ("""
    + OUTBOX_COLUMNS
    + """)
        SELECT """
    + _EXPOSURE_DETECTED
    + """
        FROM recorded r JOIN case_window w ON w.visit_id = r.case_visit_id
        UNION ALL
        SELECT """
    + _CASE_VISITED
    + """
        FROM visited s JOIN case_window w ON w.visit_id = s.visit_id
        RETURNING type
    )
    SELECT count(*) FILTER (WHERE type = 'exposure.detected') AS exposures,
           count(*) FILTER (WHERE type = 'venue.case_visited') AS venue_alerts
    FROM published
    """
)
_MATCH = text(MATCH_SQL)

_MARK_RETRACTED = text(
    """
    INSERT INTO exposure_cases (case_id, case_ref, person_id, retracted_at)
    VALUES (:case_id, :case_ref, :person_id, :retracted_at)
    ON CONFLICT (case_id) DO UPDATE
        SET retracted_at = coalesce(exposure_cases.retracted_at, excluded.retracted_at)
    """
)

_RETRACT = text(
    """
    WITH retracted AS (
        UPDATE reported_exposures
        SET retracted_at = :retracted_at
        WHERE case_id = :case_id AND retracted_at IS NULL
        RETURNING exposure_id, case_ref, contact_person_id, venue_id
    ),
    published AS (
        INSERT INTO outbox ("""
    + OUTBOX_COLUMNS
    + """)
        SELECT """
    + _EXPOSURE_RETRACTED
    + """
        FROM retracted r
        ORDER BY r.contact_person_id
        RETURNING 1
    ),
    visits_retracted AS (
        UPDATE reported_case_visits
        SET retracted_at = :retracted_at
        WHERE case_id = :case_id AND retracted_at IS NULL
        RETURNING venue_id, visit_start, visit_end
    ),
    visits_published AS (
        INSERT INTO outbox ("""
    + OUTBOX_COLUMNS
    + """)
        SELECT """
    + _CASE_VISIT_RETRACTED
    + """
        FROM visits_retracted s
        JOIN (SELECT venue_id, manager_id, name AS venue_name, timezone AS venue_timezone
              FROM venues) w ON w.venue_id = s.venue_id
        ORDER BY s.venue_id, s.visit_start
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM published) AS exposures,
           (SELECT count(*) FROM visits_published) AS venue_alerts
    """
)

_PURGE = text(
    """
    WITH old_cases AS (
        DELETE FROM exposure_cases
        WHERE coalesce(retracted_at, confirmed_at) < now() - CAST(:age AS interval)
        RETURNING case_id
    ), old_exposures AS (
        DELETE FROM reported_exposures WHERE case_id IN (SELECT case_id FROM old_cases)
    )
    DELETE FROM reported_case_visits WHERE case_id IN (SELECT case_id FROM old_cases)
    """
)


#: Matching holds this lock shared, the re-match of late visits exclusively: when the re-match
#: reads the cases, every matching that could have missed a late visit has committed.
_MATCHING_LOCK = text("SELECT pg_advisory_xact_lock_shared(hashtext('lindung_exposure_matching'))")
_REMATCH_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('lindung_exposure_matching'))")


async def hold_matching_lock(session: AsyncSession, *, exclusive: bool = False) -> None:
    await session.execute(_REMATCH_LOCK if exclusive else _MATCHING_LOCK)


async def claim_case(
    session: AsyncSession,
    case: CaseWindow,
    *,
    traced_from: datetime | None = None,
    traced_until: datetime | None = None,
) -> bool:
    """Record the case and the window traced for it (locking its row for this transaction,
    which serialises concurrent handling of one case); False when the case was already
    retracted."""
    retracted = (
        await session.execute(
            _CLAIM_CASE,
            {
                "case_id": case.case_id,
                "case_ref": case.case_ref,
                "person_id": case.person_id,
                "infectious_from": case.infectious_from,
                "infectious_until": case.infectious_until,
                "traced_from": traced_from,
                "traced_until": traced_until,
            },
        )
    ).scalar_one()
    return not retracted


def match_parameters(
    case: CaseWindow,
    *,
    window_start: datetime,
    window_end: datetime,
    max_stay: timedelta,
    topic_prefix: str = "",
) -> dict[str, Any]:
    """The bound parameters of :data:`MATCH_SQL` (and of :data:`CONTACTS_SQL`)."""
    return {
        "case_id": case.case_id,
        "case_ref": case.case_ref,
        "person_id": case.person_id,
        "ws": window_start,
        "we": window_end,
        "max_stay": max_stay,
        "topic_prefix": topic_prefix,
    }


async def record_exposures(
    session: AsyncSession,
    case: CaseWindow,
    *,
    window_start: datetime,
    window_end: datetime,
    max_stay: timedelta,
    topic_prefix: str = "",
) -> MatchCounts:
    """Match the case's visits in ``[window_start, window_end)``; ledger and outbox rows for
    every contact and case visit not reported before. Returns what was newly written."""
    # JIT compilation costs more than it saves on this short, index-driven statement.
    await session.execute(text("SET LOCAL jit = off"))
    params = match_parameters(
        case,
        window_start=window_start,
        window_end=window_end,
        max_stay=max_stay,
        topic_prefix=topic_prefix,
    )
    row = (await session.execute(_MATCH, params)).one()
    return MatchCounts(exposures=row.exposures, venue_alerts=row.venue_alerts)


async def record_retraction(
    session: AsyncSession,
    *,
    case_id: uuid.UUID,
    case_ref: str,
    person_id: uuid.UUID,
    retracted_at: datetime,
    topic_prefix: str = "",
) -> int:
    """Mark the case retracted and everything reported for it; stage one
    ``exposure.retracted`` per exposure and one ``venue.case_visit_retracted`` per venue alert
    not retracted before. Returns how many exposures."""
    params = {
        "case_id": case_id,
        "case_ref": case_ref,
        "person_id": person_id,
        "retracted_at": retracted_at,
    }
    await session.execute(_MARK_RETRACTED, params)
    row = (
        await session.execute(
            _RETRACT,
            {
                "case_id": case_id,
                "case_ref": case_ref,
                "retracted_at": retracted_at,
                "topic_prefix": topic_prefix,
            },
        )
    ).one()
    return int(row.exposures)


async def purge_ledger(session: AsyncSession, older_than: timedelta) -> None:
    await session.execute(_PURGE, {"age": older_than})
