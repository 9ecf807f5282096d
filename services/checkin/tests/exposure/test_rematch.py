"""Visits uploaded after their case was matched (offline phones) are still matched."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from lindung_checkin.exposure import rematch, service
from lindung_shared.events.catalogue import CaseRetracted
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .test_matcher import SETTINGS, case_of, visit

_QUEUE = text(
    "INSERT INTO late_visits (visit_id, person_id, venue_id, stay_start, stay_end) "
    "VALUES (:visit_id, :person_id, :venue_id, :checked_in_at, "
    "coalesce(CAST(:checked_out_at AS timestamptz), CAST(:auto_checkout_at AS timestamptz)))"
)


async def arrive_late(session: AsyncSession, seed: Any, late: dict[str, Any]) -> None:
    """What an offline upload does: the visit and its queue row, in one transaction."""
    await seed(session, [], [late])
    await session.execute(_QUEUE, late)


async def detected(session: AsyncSession, case_ref: str) -> list[uuid.UUID]:
    rows = await session.execute(
        text(
            "SELECT payload->>'contact_person_id' FROM outbox "
            "WHERE type = 'exposure.detected' AND payload->>'case_ref' = :ref "
            "ORDER BY payload->>'contact_person_id'"
        ),
        {"ref": case_ref},
    )
    return [uuid.UUID(v) for v in rows.scalars()]


async def test_a_contact_uploading_late_is_reported_once(
    exposure_sessions, seed, new_venue
) -> None:
    mall, cafe = new_venue("mall"), new_venue("restaurant")
    case, early, late, elsewhere = (uuid.uuid4() for _ in range(4))
    confirmed = case_of(case)
    async with exposure_sessions() as session, session.begin():
        await seed(session, [mall, cafe], [visit(case, mall, 0, 120), visit(early, mall, 30, 60)])
        await service.match_case(session, confirmed, SETTINGS)
        assert await detected(session, confirmed.case_ref) == [early]

        await arrive_late(session, seed, visit(late, mall, 100, 200))
        await arrive_late(session, seed, visit(elsewhere, cafe, 100, 200))
        counts = await rematch.rematch_once(session, SETTINGS, limit=100)
        assert (counts.late_visits, counts.cases, counts.exposures) == (2, 1, 1)
        assert sorted(await detected(session, confirmed.case_ref)) == sorted([early, late])
        # The queue is drained: a second run finds nothing to do.
        again = await rematch.rematch_once(session, SETTINGS, limit=100)
        assert (again.late_visits, again.exposures) == (0, 0)
        # The same contact arriving late once more (another visit) is not reported twice.
        await arrive_late(session, seed, visit(late, mall, 10, 20))
        once_more = await rematch.rematch_once(session, SETTINGS, limit=100)
        assert (once_more.cases, once_more.exposures) == (1, 0)
        await session.rollback()


async def test_the_cases_own_late_visit_finds_its_contacts(
    exposure_sessions, seed, new_venue
) -> None:
    mall, cafe = new_venue("mall"), new_venue("restaurant")
    case, at_cafe = uuid.uuid4(), uuid.uuid4()
    confirmed = case_of(case)
    async with exposure_sessions() as session, session.begin():
        await seed(session, [mall, cafe], [visit(case, mall, 0, 60), visit(at_cafe, cafe, 90, 150)])
        assert (await service.match_case(session, confirmed, SETTINGS)).exposures == 0

        await arrive_late(session, seed, visit(case, cafe, 100, 130))
        counts = await rematch.rematch_once(session, SETTINGS, limit=100)
        assert (counts.cases, counts.exposures, counts.venue_alerts) == (1, 1, 1)
        assert await detected(session, confirmed.case_ref) == [at_cafe]
        await session.rollback()


async def test_a_retracted_case_is_not_rematched(exposure_sessions, seed, new_venue) -> None:
    mall = new_venue("mall")
    case, late = uuid.uuid4(), uuid.uuid4()
    confirmed = case_of(case)
    async with exposure_sessions() as session, session.begin():
        await seed(session, [mall], [visit(case, mall, 0, 120)])
        await service.match_case(session, confirmed, SETTINGS)
        await service.retract_case(
            session,
            CaseRetracted(
                case_id=confirmed.case_id,
                case_ref=confirmed.case_ref,
                person_id=case,
                retracted_at=datetime.now(UTC),
            ),
        )
        await arrive_late(session, seed, visit(late, mall, 30, 60))
        counts = await rematch.rematch_once(session, SETTINGS, limit=100)
        assert (counts.late_visits, counts.cases, counts.exposures) == (1, 0, 0)
        await session.rollback()


async def test_a_visit_committed_during_a_matching_is_not_missed(
    exposure_sessions, seed, new_venue
) -> None:
    """The matching statement ran before the late visit committed, and the re-match starts
    before the matching commits: the re-match waits for it, then reports the contact."""
    mall = new_venue("mall")
    case, late = uuid.uuid4(), uuid.uuid4()
    confirmed = case_of(case)
    async with exposure_sessions() as session, session.begin():
        await seed(session, [mall], [visit(case, mall, 0, 120)])
    try:
        async with exposure_sessions() as matching:
            await matching.begin()
            assert (await service.match_case(matching, confirmed, SETTINGS)).exposures == 0
            async with exposure_sessions() as upload, upload.begin():
                await arrive_late(upload, seed, visit(late, mall, 30, 60))

            async def run_rematch() -> rematch.RematchCounts:
                return await rematch.rematch(exposure_sessions, SETTINGS, limit=100)

            job = asyncio.create_task(run_rematch())
            await asyncio.sleep(0.5)
            assert not job.done(), "the re-match must wait for the matching in flight"
            await matching.commit()
        counts = await asyncio.wait_for(job, 10)
        assert (counts.late_visits, counts.cases, counts.exposures) == (1, 1, 1)
        async with exposure_sessions() as session:
            assert await detected(session, confirmed.case_ref) == [late]
    finally:
        async with exposure_sessions() as session, session.begin():
            for sql in (
                "DELETE FROM outbox WHERE payload->>'case_ref' = :ref",
                "DELETE FROM reported_exposures WHERE case_ref = :ref",
                "DELETE FROM reported_case_visits WHERE case_id = CAST(:case_id AS uuid)",
                "DELETE FROM exposure_cases WHERE case_id = CAST(:case_id AS uuid)",
                "DELETE FROM late_visits",
            ):
                await session.execute(
                    text(sql), {"ref": confirmed.case_ref, "case_id": confirmed.case_id}
                )
