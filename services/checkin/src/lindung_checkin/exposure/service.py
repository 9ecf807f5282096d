"""The exposure matcher's use cases: match a confirmed case, withdraw a retracted one."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from lindung_shared.events.catalogue import CaseConfirmed, CaseRetracted
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_checkin.exposure import repository, suspects
from lindung_checkin.exposure.repository import CaseWindow, MatchCounts
from lindung_checkin.exposure.settings import ExposureSettings

log = logging.getLogger(__name__)


def tracing_window(case: CaseConfirmed, lookback_days: float) -> tuple[datetime, datetime]:
    """The part of the case's infectious window that is traced: at most ``lookback_days``
    before the sample was taken, never before the infectious window opens, until it closes."""
    start = max(case.infectious_from, case.sample_taken_at - timedelta(days=lookback_days))
    return start, case.infectious_until


async def match_case(
    session: AsyncSession, case: CaseConfirmed, settings: ExposureSettings
) -> MatchCounts:
    """Find the case's close contacts and stage one ``exposure.detected`` per contact never
    reported for this case, and one ``venue.case_visited`` per case visit, in the session's
    transaction (the caller commits). A case confirming a suspect (v2 ``suspect_id``)
    upgrades the suspect's advisories first (:func:`.suspects.upgrade_advisories`)."""
    window_start, window_end = tracing_window(case, settings.lookback_days)
    window = CaseWindow(
        case_id=case.case_id,
        case_ref=case.case_ref,
        person_id=case.person_id,
        infectious_from=case.infectious_from,
        infectious_until=case.infectious_until,
    )
    await repository.hold_matching_lock(session)
    if not await repository.claim_case(
        session, window, traced_from=window_start, traced_until=window_end
    ):
        log.info("case already retracted; not matched", extra={"case_ref": case.case_ref})
        return MatchCounts(exposures=0, venue_alerts=0)
    upgraded = 0
    suspect_id = getattr(case, "suspect_id", None)  # case.confirmed v2
    if suspect_id is not None:
        # The suspect's advised contacts first: the same contacts, upgraded, not advised anew.
        upgraded = await suspects.upgrade_advisories(
            session,
            suspect_id=suspect_id,
            case_id=case.case_id,
            case_ref=case.case_ref,
            topic_prefix=settings.topic_prefix,
        )
    if window_end <= window_start:
        return MatchCounts(exposures=upgraded, venue_alerts=0)
    counts = await repository.record_exposures(
        session,
        window,
        window_start=window_start,
        window_end=window_end,
        max_stay=settings.max_stay,
        topic_prefix=settings.topic_prefix,
    )
    counts = MatchCounts(exposures=counts.exposures + upgraded, venue_alerts=counts.venue_alerts)
    log.info(
        "case matched",
        extra={
            "case_ref": case.case_ref,
            "upgraded_advisories": upgraded,
            "exposures": counts.exposures,
            "venue_alerts": counts.venue_alerts,
        },
    )
    return counts


async def retract_case(
    session: AsyncSession, case: CaseRetracted, settings: ExposureSettings | None = None
) -> int:
    """Withdraw everything reported for the case (one ``exposure.retracted`` each)."""
    count = await repository.record_retraction(
        session,
        case_id=case.case_id,
        case_ref=case.case_ref,
        person_id=case.person_id,
        retracted_at=case.retracted_at,
        topic_prefix=settings.topic_prefix if settings else "",
    )
    log.info("case retracted", extra={"case_ref": case.case_ref, "exposures_retracted": count})
    return count
