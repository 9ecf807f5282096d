"""Late visits against cases already matched.

A phone that was offline uploads its visits later (``POST /v1/checkins/batch``, or a visit
held until its venue was known): a case may have been matched before they arrived. Every
visit such an upload records is queued in ``late_visits`` (in the scan's own transaction, see
migration 0006). This job drains the queue in batches and re-runs the matching of every live
(confirmed, not retracted) case that the late visit could touch:

- the late visit is the case's own, inside the window traced for the case; or
- the case visited the same venue around the same time (``reported_case_visits``, widened by
  the largest margin of ``exposure_rules``).

Re-running a case is the same set-based statement as the first match, under the same lock of
the case's row, so the ledger keeps it exactly-once per (case, contact): only contacts never
reported for the case get an ``exposure.detected``. The queue rows are deleted in the
transaction that re-matches, so a crash re-does the batch instead of losing it. Matching holds
an advisory lock shared and this job takes it exclusively before reading the cases, so a case
whose matching ran just before a late visit committed is never missed by both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lindung_checkin.exposure import repository
from lindung_checkin.exposure.repository import CaseWindow
from lindung_checkin.exposure.settings import ExposureSettings

log = logging.getLogger(__name__)

_CANDIDATES = text(
    """
    WITH taken AS (
        DELETE FROM late_visits
        WHERE seq IN (SELECT seq FROM late_visits ORDER BY seq LIMIT :limit
                      FOR UPDATE SKIP LOCKED)
        RETURNING person_id, venue_id, stay_start, stay_end
    ),
    slack AS (
        SELECT make_interval(mins => coalesce(
                   max(greatest(margin_before_minutes, margin_after_minutes)), 0) + 1) AS s
        FROM exposure_rules
    ),
    touched AS (
        SELECT c.case_id
        FROM taken t
        JOIN exposure_cases c ON c.person_id = t.person_id
        WHERE t.stay_start < coalesce(c.traced_until, c.infectious_until)
          AND t.stay_end > coalesce(c.traced_from, c.infectious_from)
        UNION
        SELECT rv.case_id
        FROM taken t CROSS JOIN slack
        JOIN reported_case_visits rv ON rv.venue_id = t.venue_id
        WHERE rv.visit_start < t.stay_end + slack.s
          AND rv.visit_start >= t.stay_start - slack.s - CAST(:max_stay AS interval)
          AND rv.visit_end > t.stay_start - slack.s
    )
    SELECT (SELECT count(*) FROM taken) AS taken,
           array_remove(array_agg(c.case_id ORDER BY c.case_id), NULL) AS cases
    FROM touched JOIN exposure_cases c USING (case_id)
    WHERE c.confirmed_at IS NOT NULL AND c.retracted_at IS NULL
    """
)

_ANY_QUEUED = text("SELECT EXISTS (SELECT 1 FROM late_visits)")

_LOCK_CASE = text(
    """
    SELECT case_id, case_ref, person_id, infectious_from, infectious_until,
           coalesce(traced_from, infectious_from) AS ws,
           coalesce(traced_until, infectious_until) AS we,
           retracted_at IS NOT NULL AS retracted
    FROM exposure_cases WHERE case_id = :case_id FOR UPDATE
    """
)


@dataclass(frozen=True)
class RematchCounts:
    late_visits: int
    cases: int
    exposures: int
    venue_alerts: int


async def rematch_once(
    session: AsyncSession, settings: ExposureSettings, *, limit: int
) -> RematchCounts:
    """Drain one batch of the queue and re-match the cases it touches (the caller commits)."""
    if not (await session.execute(_ANY_QUEUED)).scalar_one():
        return RematchCounts(0, 0, 0, 0)
    # Wait for matchings in flight: a case matched without seeing a late visit is committed
    # (and so visible to the statement below) before this reads the cases.
    await repository.hold_matching_lock(session, exclusive=True)
    await session.execute(text("SET LOCAL jit = off"))
    row = (
        await session.execute(_CANDIDATES, {"limit": limit, "max_stay": settings.max_stay})
    ).one()
    exposures = alerts = 0
    for case_id in row.cases or []:
        case = (await session.execute(_LOCK_CASE, {"case_id": case_id})).one_or_none()
        if case is None or case.retracted or case.we <= case.ws:
            continue
        counts = await repository.record_exposures(
            session,
            CaseWindow(
                case_id=case.case_id,
                case_ref=case.case_ref,
                person_id=case.person_id,
                infectious_from=case.infectious_from,
                infectious_until=case.infectious_until,
            ),
            window_start=case.ws,
            window_end=case.we,
            max_stay=settings.max_stay,
            topic_prefix=settings.topic_prefix,
        )
        exposures += counts.exposures
        alerts += counts.venue_alerts
    return RematchCounts(
        late_visits=int(row.taken or 0),
        cases=len(row.cases or []),
        exposures=exposures,
        venue_alerts=alerts,
    )


async def rematch(
    sessionmaker: async_sessionmaker[AsyncSession], settings: ExposureSettings, *, limit: int
) -> RematchCounts:
    """Drain the queue, one batch per transaction; returns the totals."""
    total = RematchCounts(0, 0, 0, 0)
    while True:
        async with sessionmaker() as session, session.begin():
            got = await rematch_once(session, settings, limit=limit)
        total = RematchCounts(
            total.late_visits + got.late_visits,
            total.cases + got.cases,
            total.exposures + got.exposures,
            total.venue_alerts + got.venue_alerts,
        )
        if got.late_visits < limit:
            break
    if total.exposures or total.venue_alerts:
        log.info(
            "late visits re-matched",
            extra={
                "late_visits": total.late_visits,
                "cases": total.cases,
                "exposures": total.exposures,
                "venue_alerts": total.venue_alerts,
            },
        )
    return total
