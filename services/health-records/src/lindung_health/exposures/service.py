"""Close contacts reported by the check-in service's matcher: quarantine (black) from the
last exposure for the rule's quarantine period; a retraction lifts it."""

from __future__ import annotations

import logging
from datetime import datetime

from lindung_shared.events.catalogue import ExposureDetected, ExposureRetracted
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.exposures import repository
from lindung_health.people import repository as people
from lindung_health.screening.service import recompute

log = logging.getLogger(__name__)


async def exposure_detected(session: AsyncSession, event: ExposureDetected, now: datetime) -> bool:
    """Record the exposure and recompute the contact; False when the person is unknown."""
    person = await people.get(session, event.contact_person_id)
    if person is None:
        # Person ids are ours: an unknown one belongs to another environment or a test; it is
        # logged and skipped rather than dead-lettered, which would alarm for nothing.
        log.warning(
            "exposure for an unknown person skipped",
            extra={
                "exposure_id": str(event.exposure_id),
                "person_id": str(event.contact_person_id),
            },
        )
        return False
    created = await repository.insert_if_new(
        session,
        {
            "id": event.exposure_id,
            "person_id": person.id,
            "case_ref": event.case_ref,
            "venue_id": event.venue_id,
            "overlap_start": event.overlap_start,
            "overlap_end": event.overlap_end,
            "received_at": now,
        },
    )
    if created:
        await recompute(session, person, now, sync=False)
    return created


async def exposure_retracted(
    session: AsyncSession, event: ExposureRetracted, now: datetime
) -> bool:
    person = await people.get(session, event.contact_person_id)
    if person is None:
        log.warning(
            "exposure retraction for an unknown person skipped",
            extra={"exposure_id": str(event.exposure_id)},
        )
        return False
    retracted = await repository.retract(session, event.exposure_id, person.id, now)
    if retracted:
        await recompute(session, person, now, sync=False)
    return retracted
