"""Suspected cases (PDP): advisories to their visitors, upgraded or withdrawn, exactly once.

The same matching as a confirmed case (:data:`~.repository.CONTACTS_SQL`: the suspect's visits
in the traced window, every overlapping stay at the same venue, the longest overlap per
contact), recorded in an advisory ledger of its own:

- ``suspect.flagged``: one ``exposure.advised`` per (suspect, contact) and one
  ``venue.suspect_visited`` per suspect visit, staged in the outbox in the transaction that
  records them in ``reported_advisories`` / ``reported_suspect_visits``. The suspect's row in
  ``exposure_suspects`` is locked first, so a redelivered or concurrent event adds nothing.
  Advisories change no colour: health-records ignores them.
- ``case.confirmed`` naming the suspect (v2 ``suspect_id``): every advisory still standing
  becomes the case's exposure, the same contact with the same overlap: one
  ``exposure.detected`` v2 carrying the ``advisory_id`` it upgrades, recorded in the case's
  ledger (``reported_exposures``) before the case is matched, so the case's own matching
  reports each contact once (:func:`upgrade_advisories`, called by the case's matching).
- ``suspect.ruled_out``: one ``exposure.advisory_withdrawn`` per advisory not upgraded, one
  ``venue.suspect_visit_withdrawn`` per suspect visit; a ``suspect.flagged`` arriving after
  it matches nothing.

Visits uploaded late (offline) are not re-matched against suspects (they are against cases).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from lindung_shared.events.catalogue import SuspectFlagged, SuspectRuledOut
from lindung_shared.outbox import OUTBOX_COLUMNS, staged_events
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_checkin.exposure.repository import CONTACTS_SQL
from lindung_checkin.exposure.settings import ExposureSettings

log = logging.getLogger(__name__)

_ADVISED = staged_events(
    "exposure.advised",
    key="r.contact_person_id",
    payload={
        "advisory_id": "r.advisory_id",
        "suspect_ref": "CAST(:suspect_ref AS text)",
        "contact_person_id": "r.contact_person_id",
        "venue_id": "r.venue_id",
        "venue_name": "w.venue_name",
        "venue_timezone": "w.venue_timezone",
        "overlap_start": "r.overlap_start",
        "overlap_end": "r.overlap_end",
        "overlap_minutes": "r.overlap_minutes",
    },
)
_WITHDRAWN = staged_events(
    "exposure.advisory_withdrawn",
    key="r.contact_person_id",
    payload={
        "advisory_id": "r.advisory_id",
        "suspect_ref": "r.suspect_ref",
        "contact_person_id": "r.contact_person_id",
        "venue_id": "r.venue_id",
    },
)
_UPGRADED = staged_events(
    "exposure.detected",
    version=2,
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
        "advisory_id": "r.advisory_id",
    },
)
_VISIT_PAYLOAD = {
    "suspect_ref": "CAST(:suspect_ref AS text)",
    "venue_id": "s.venue_id",
    "manager_id": "w.manager_id",
    "venue_name": "w.venue_name",
    "venue_timezone": "w.venue_timezone",
    "visit_start": "s.visit_start",
    "visit_end": "s.visit_end",
}
_SUSPECT_VISITED = staged_events("venue.suspect_visited", key="s.venue_id", payload=_VISIT_PAYLOAD)
_SUSPECT_VISIT_WITHDRAWN = staged_events(
    "venue.suspect_visit_withdrawn", key="s.venue_id", payload=_VISIT_PAYLOAD
)
_VENUES = (
    "(SELECT venue_id, manager_id, name AS venue_name, timezone AS venue_timezone FROM venues)"
)

_CLAIM = text(
    """
    INSERT INTO exposure_suspects
        (suspect_id, suspect_ref, person_id, traced_from, traced_until, flagged_at)
    VALUES (:suspect_id, :suspect_ref, :person_id, :traced_from, :traced_until, now())
    ON CONFLICT (suspect_id) DO UPDATE
        SET flagged_at = coalesce(exposure_suspects.flagged_at, excluded.flagged_at),
            traced_from = coalesce(exposure_suspects.traced_from, excluded.traced_from),
            traced_until = coalesce(exposure_suspects.traced_until, excluded.traced_until)
    RETURNING ruled_out_at IS NOT NULL OR confirmed_case_id IS NOT NULL
    """
)

_MATCH = text(
    CONTACTS_SQL
    + """,
    recorded AS (
        INSERT INTO reported_advisories
            (suspect_id, contact_person_id, advisory_id, suspect_ref, venue_id, case_visit_id,
             overlap_start, overlap_end, overlap_minutes)
        SELECT CAST(:suspect_id AS uuid), contact_person_id, gen_random_uuid(),
               CAST(:suspect_ref AS text), venue_id, case_visit_id, overlap_start, overlap_end,
               CAST(extract(epoch FROM overlap_end - overlap_start) / 60 AS double precision)
        FROM contact
        ORDER BY contact_person_id
        ON CONFLICT DO NOTHING
        RETURNING advisory_id, contact_person_id, venue_id, case_visit_id, overlap_start,
                  overlap_end, overlap_minutes
    ),
    visited AS (
        INSERT INTO reported_suspect_visits
            (suspect_id, visit_id, venue_id, visit_start, visit_end)
        SELECT CAST(:suspect_id AS uuid), visit_id, venue_id, stay_start, stay_end
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
    + _ADVISED
    + """
        FROM recorded r JOIN case_window w ON w.visit_id = r.case_visit_id
        UNION ALL
        SELECT """
    + _SUSPECT_VISITED
    + """
        FROM visited s JOIN case_window w ON w.visit_id = s.visit_id
        RETURNING type
    )
    SELECT count(*) FILTER (WHERE type = 'exposure.advised') AS advisories,
           count(*) FILTER (WHERE type = 'venue.suspect_visited') AS venue_alerts
    FROM published
    """
)

_UPGRADE = text(
    """
    WITH suspect AS (
        UPDATE exposure_suspects
        SET confirmed_case_id = CAST(:case_id AS uuid), confirmed_at = now()
        WHERE suspect_id = :suspect_id AND ruled_out_at IS NULL AND confirmed_case_id IS NULL
        RETURNING suspect_id
    ),
    upgraded AS (
        UPDATE reported_advisories a
        SET upgraded_at = now(), exposure_id = gen_random_uuid()
        FROM suspect s
        WHERE a.suspect_id = s.suspect_id AND a.withdrawn_at IS NULL AND a.upgraded_at IS NULL
          AND NOT EXISTS (
              SELECT 1 FROM reported_exposures done
              WHERE done.case_id = CAST(:case_id AS uuid)
                AND done.contact_person_id = a.contact_person_id)
        RETURNING a.exposure_id, a.advisory_id, a.contact_person_id, a.venue_id,
                  a.case_visit_id, a.overlap_start, a.overlap_end, a.overlap_minutes
    ),
    recorded AS (
        INSERT INTO reported_exposures
            (case_id, contact_person_id, exposure_id, case_ref, venue_id, case_visit_id,
             overlap_start, overlap_end, overlap_minutes)
        SELECT CAST(:case_id AS uuid), contact_person_id, exposure_id, CAST(:case_ref AS text),
               venue_id, case_visit_id, overlap_start, overlap_end, overlap_minutes
        FROM upgraded
        ORDER BY contact_person_id
        RETURNING 1
    ),
    published AS (
        INSERT INTO outbox ("""
    + OUTBOX_COLUMNS
    + """)
        SELECT """
    + _UPGRADED
    + """
        FROM upgraded r JOIN """
    + _VENUES
    + """ w ON w.venue_id = r.venue_id
        ORDER BY r.contact_person_id
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM recorded) AS recorded,
           (SELECT count(*) FROM published) AS exposures
    """
)

_MARK_RULED_OUT = text(
    """
    INSERT INTO exposure_suspects (suspect_id, suspect_ref, person_id, ruled_out_at)
    VALUES (:suspect_id, :suspect_ref, :person_id, :ruled_out_at)
    ON CONFLICT (suspect_id) DO UPDATE
        SET ruled_out_at = coalesce(exposure_suspects.ruled_out_at, excluded.ruled_out_at)
    """
)

_WITHDRAW = text(
    """
    WITH withdrawn AS (
        UPDATE reported_advisories
        SET withdrawn_at = :ruled_out_at
        WHERE suspect_id = :suspect_id AND withdrawn_at IS NULL AND upgraded_at IS NULL
        RETURNING advisory_id, suspect_ref, contact_person_id, venue_id
    ),
    published AS (
        INSERT INTO outbox ("""
    + OUTBOX_COLUMNS
    + """)
        SELECT """
    + _WITHDRAWN
    + """
        FROM withdrawn r
        ORDER BY r.contact_person_id
        RETURNING 1
    ),
    visits_withdrawn AS (
        UPDATE reported_suspect_visits
        SET withdrawn_at = :ruled_out_at
        WHERE suspect_id = :suspect_id AND withdrawn_at IS NULL
        RETURNING venue_id, visit_start, visit_end
    ),
    visits_published AS (
        INSERT INTO outbox ("""
    + OUTBOX_COLUMNS
    + """)
        SELECT """
    + _SUSPECT_VISIT_WITHDRAWN
    + """
        FROM visits_withdrawn s JOIN """
    + _VENUES
    + """ w ON w.venue_id = s.venue_id
        ORDER BY s.venue_id, s.visit_start
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM published) AS advisories,
           (SELECT count(*) FROM visits_published) AS venue_alerts
    """
)


@dataclass(frozen=True)
class AdvisoryCounts:
    advisories: int
    venue_alerts: int


async def advise(
    session: AsyncSession, suspect: SuspectFlagged, settings: ExposureSettings
) -> AdvisoryCounts:
    """Advise the suspect's contacts never advised for this suspect, and tell the venues of
    its visits (in the session's transaction; the caller commits)."""
    resolved = (
        await session.execute(
            _CLAIM,
            {
                "suspect_id": suspect.suspect_id,
                "suspect_ref": suspect.suspect_ref,
                "person_id": suspect.person_id,
                "traced_from": suspect.traced_from,
                "traced_until": suspect.traced_until,
            },
        )
    ).scalar_one()
    if resolved:
        log.info(
            "suspect already resolved; not matched", extra={"suspect_ref": suspect.suspect_ref}
        )
        return AdvisoryCounts(0, 0)
    window_start = max(
        suspect.traced_from, suspect.suspected_at - timedelta(days=settings.lookback_days)
    )
    window_end = suspect.traced_until
    if window_end <= window_start:
        return AdvisoryCounts(0, 0)
    await session.execute(text("SET LOCAL jit = off"))
    row = (
        await session.execute(
            _MATCH,
            {
                "suspect_id": suspect.suspect_id,
                "suspect_ref": suspect.suspect_ref,
                "person_id": suspect.person_id,
                "ws": window_start,
                "we": window_end,
                "max_stay": settings.max_stay,
                "topic_prefix": settings.topic_prefix,
            },
        )
    ).one()
    counts = AdvisoryCounts(int(row.advisories), int(row.venue_alerts))
    log.info(
        "suspect matched",
        extra={
            "suspect_ref": suspect.suspect_ref,
            "advisories": counts.advisories,
            "venue_alerts": counts.venue_alerts,
        },
    )
    return counts


async def upgrade_advisories(
    session: AsyncSession,
    *,
    suspect_id: uuid.UUID,
    case_id: uuid.UUID,
    case_ref: str,
    topic_prefix: str = "",
) -> int:
    """The suspect's standing advisories become the confirming case's exposures (one
    ``exposure.detected`` v2 each, naming the advisory). Call with the case's row locked,
    before the case is matched. Returns how many."""
    row = (
        await session.execute(
            _UPGRADE,
            {
                "suspect_id": suspect_id,
                "case_id": case_id,
                "case_ref": case_ref,
                "topic_prefix": topic_prefix,
            },
        )
    ).one()
    return int(row.exposures)


async def rule_out(
    session: AsyncSession, suspect: SuspectRuledOut, settings: ExposureSettings
) -> AdvisoryCounts:
    """Withdraw the suspect's advisories (not those upgraded) and venue alerts, once."""
    params = {
        "suspect_id": suspect.suspect_id,
        "suspect_ref": suspect.suspect_ref,
        "person_id": suspect.person_id,
        "ruled_out_at": suspect.ruled_out_at,
    }
    await session.execute(_MARK_RULED_OUT, params)
    row = (
        await session.execute(
            _WITHDRAW,
            {
                "suspect_id": suspect.suspect_id,
                "suspect_ref": suspect.suspect_ref,
                "ruled_out_at": suspect.ruled_out_at,
                "topic_prefix": settings.topic_prefix,
            },
        )
    ).one()
    counts = AdvisoryCounts(int(row.advisories), int(row.venue_alerts))
    log.info(
        "suspect ruled out",
        extra={
            "suspect_ref": suspect.suspect_ref,
            "advisories_withdrawn": counts.advisories,
            "venue_alerts_withdrawn": counts.venue_alerts,
        },
    )
    return counts
