"""The SQL matcher on hand-picked cases (each rolled back), and under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lindung_checkin.exposure import repository, service
from lindung_checkin.exposure.consumer import build_exposure_tasks
from lindung_checkin.exposure.settings import ExposureSettings
from lindung_shared.db import create_sessionmaker
from lindung_shared.events.catalogue import (
    CaseConfirmed,
    CaseRetracted,
    ExposureDetected,
    VenueCaseVisitRetracted,
)
from lindung_shared.kafka import create_producer
from lindung_shared.worker import WorkerContext
from sqlalchemy import text

BASE = datetime.combine(datetime.now(UTC).date() - timedelta(days=2), datetime.min.time(), UTC)
SETTINGS = ExposureSettings()


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


def visit(
    person: uuid.UUID, venue: dict[str, Any], start: float, end: float | None, auto: float = 0
):
    """``end=None``: still open, counted until ``auto`` (minutes after ``start``, default 240)."""
    return {
        "visit_id": uuid.uuid4(),
        "person_id": person,
        "venue_id": venue["venue_id"],
        "checked_in_at": at(start),
        "checked_out_at": None if end is None else at(end),
        "auto_checkout_at": at(start + (auto or 240)),
    }


def case_of(person: uuid.UUID, start: float = -3000, end: float = 3000) -> CaseConfirmed:
    return CaseConfirmed(
        case_id=uuid.uuid4(),
        case_ref=f"K-{uuid.uuid4().hex[:6]}",
        person_id=person,
        sample_taken_at=at(end - 60),
        infectious_from=at(start),
        infectious_until=at(end),
    )


async def run(sessions, seed, venues, visits, case, rules=()) -> dict[uuid.UUID, ExposureDetected]:
    async with sessions() as session, session.begin():
        await seed(session, venues, visits)
        for category, before, after, minimum in rules:
            await session.execute(
                text(
                    "INSERT INTO exposure_rules (category, margin_before_minutes, "
                    "margin_after_minutes, min_overlap_minutes) VALUES (:c, :b, :a, :m)"
                ),
                {"c": category, "b": before, "a": after, "m": minimum},
            )
        await service.match_case(session, case, SETTINGS)
        payloads = (
            await session.execute(
                text("SELECT payload FROM outbox WHERE type = 'exposure.detected'")
            )
        ).scalars()
        found = [ExposureDetected.model_validate(p) for p in payloads]
        await session.rollback()
    return {e.contact_person_id: e for e in found}


async def test_overlapping_touching_and_instant_visits(exposure_sessions, seed, new_venue) -> None:
    mall = new_venue("mall")
    case, overlapping, touching, instant, elsewhere = (uuid.uuid4() for _ in range(5))
    other_venue = new_venue("mall")
    visits = [
        visit(case, mall, 0, 120),
        visit(overlapping, mall, 90, 300),
        visit(touching, mall, 120, 200),
        visit(instant, mall, 60, 60),
        visit(elsewhere, other_venue, 0, 120),
        visit(case, mall, 200, 220),  # the case's own later visit is never a contact
    ]
    found = await run(exposure_sessions, seed, [mall, other_venue], visits, case_of(case))
    assert set(found) == {overlapping}
    e = found[overlapping]
    assert (e.overlap_start, e.overlap_end, e.overlap_minutes) == (at(90), at(120), 30.0)
    assert e.venue_id == mall["venue_id"]
    assert e.venue_name == "Mal Kota"


async def test_open_visits_count_until_their_automatic_checkout(
    exposure_sessions, seed, new_venue
) -> None:
    mall = new_venue("mall")
    case, late = uuid.uuid4(), uuid.uuid4()
    visits = [visit(case, mall, 1380, None, auto=120), visit(late, mall, 1490, 1600)]
    found = await run(exposure_sessions, seed, [mall], visits, case_of(case))
    # 23:00 until the automatic check-out at 01:00 the next day: 10 minutes with `late`
    assert (found[late].overlap_start, found[late].overlap_end) == (at(1490), at(1500))


async def test_margins_and_minimum_overlap_follow_the_venue_category(
    exposure_sessions, seed, new_venue
) -> None:
    restaurant, office = new_venue("restaurant"), new_venue("office")
    case, after_leaving, brief, long_enough = (uuid.uuid4() for _ in range(4))
    visits = [
        visit(case, restaurant, 0, 60),
        visit(after_leaving, restaurant, 70, 90),  # within the 15-minute margin after
        visit(case, office, 0, 60),
        visit(brief, office, 50, 60),  # 10 minutes < 15
        visit(long_enough, office, 45, 61),  # exactly 15 minutes
    ]
    rules = [("restaurant", 0, 15, 0), ("office", 0, 0, 15)]
    found = await run(exposure_sessions, seed, [restaurant, office], visits, case_of(case), rules)
    assert set(found) == {after_leaving, long_enough}
    assert (found[after_leaving].overlap_start, found[after_leaving].overlap_end) == (
        at(70),
        at(75),
    )
    assert found[long_enough].overlap_minutes == 15.0


async def test_visits_outside_the_infectious_window_are_not_traced(
    exposure_sessions, seed, new_venue
) -> None:
    mall = new_venue("mall")
    case, before, during = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    visits = [
        visit(case, mall, 0, 120),
        visit(before, mall, 0, 60),
        visit(during, mall, 0, 120),
    ]
    found = await run(exposure_sessions, seed, [mall], visits, case_of(case, start=60, end=3000))
    assert set(found) == {during}
    assert (found[during].overlap_start, found[during].overlap_end) == (at(60), at(120))


async def test_each_contact_is_reported_once_with_the_longest_overlap(
    exposure_sessions, seed, new_venue
) -> None:
    a, b = new_venue("mall"), new_venue("mall")
    case, contact = uuid.uuid4(), uuid.uuid4()
    visits = [
        visit(case, a, 0, 60),
        visit(contact, a, 50, 70),  # 10 minutes
        visit(case, b, 600, 700),
        visit(contact, b, 610, 650),  # 40 minutes: the one reported
    ]
    found = await run(exposure_sessions, seed, [a, b], visits, case_of(case))
    assert found[contact].venue_id == b["venue_id"]
    assert found[contact].overlap_minutes == 40.0


async def test_concurrent_matchers_report_each_contact_once(
    exposure_sessions, seed, new_venue
) -> None:
    mall = new_venue("mall")
    case = uuid.uuid4()
    contacts = [uuid.uuid4() for _ in range(50)]
    visits = [visit(case, mall, 0, 240)] + [visit(c, mall, i, 300) for i, c in enumerate(contacts)]
    async with exposure_sessions() as session, session.begin():
        await seed(session, [mall], visits)
    confirmed = case_of(case)

    async def match() -> int:
        async with exposure_sessions() as session, session.begin():
            return (await service.match_case(session, confirmed, SETTINGS)).exposures

    results = await asyncio.gather(*(match() for _ in range(4)))
    assert sorted(results) == [0, 0, 0, 50]
    async with exposure_sessions() as session, session.begin():
        staged = (
            await session.execute(
                text(
                    "SELECT count(*) FROM outbox WHERE type = 'exposure.detected' "
                    "AND payload->>'case_ref' = :ref"
                ),
                {"ref": confirmed.case_ref},
            )
        ).scalar_one()
        assert staged == 50
        retraction = CaseRetracted(
            case_id=confirmed.case_id,
            case_ref=confirmed.case_ref,
            person_id=case,
            retracted_at=datetime.now(UTC),
        )
        assert await service.retract_case(session, retraction) == 50
        assert await service.retract_case(session, retraction) == 0
        # a late or replayed confirmation of a retracted case reports nothing
        assert (await service.match_case(session, confirmed, SETTINGS)).exposures == 0
        await session.execute(
            text("DELETE FROM outbox WHERE payload->>'case_ref' = :ref"),
            {"ref": confirmed.case_ref},
        )


async def test_a_retraction_withdraws_the_venue_alerts_once(
    exposure_sessions, seed, new_venue
) -> None:
    mall, cafe = new_venue("mall"), new_venue("restaurant")
    case, contact = uuid.uuid4(), uuid.uuid4()
    confirmed = case_of(case)
    retraction = CaseRetracted(
        case_id=confirmed.case_id,
        case_ref=confirmed.case_ref,
        person_id=case,
        retracted_at=datetime.now(UTC),
    )
    count = text("SELECT count(*) FROM outbox WHERE type = :t AND payload->>'case_ref' = :ref")
    async with exposure_sessions() as session, session.begin():
        await seed(
            session,
            [mall, cafe],
            [visit(case, mall, 0, 60), visit(case, cafe, 90, 120), visit(contact, mall, 30, 90)],
        )
        counts = await service.match_case(session, confirmed, SETTINGS)
        assert (counts.exposures, counts.venue_alerts) == (1, 2)
        assert await service.retract_case(session, retraction) == 1
        assert await service.retract_case(session, retraction) == 0
        params = {"t": "venue.case_visit_retracted", "ref": confirmed.case_ref}
        assert (await session.execute(count, params)).scalar_one() == 2
        payloads = (
            await session.execute(
                text(
                    "SELECT payload FROM outbox WHERE type = 'venue.case_visit_retracted' "
                    "AND payload->>'case_ref' = :ref ORDER BY payload->>'visit_start'"
                ),
                {"ref": confirmed.case_ref},
            )
        ).scalars()
        withdrawn = [VenueCaseVisitRetracted.model_validate(p) for p in payloads]
        assert [(w.venue_id, w.visit_start, w.visit_end) for w in withdrawn] == [
            (mall["venue_id"], at(0), at(60)),
            (cafe["venue_id"], at(90), at(120)),
        ]
        assert withdrawn[0].manager_id == mall["manager_id"]
        await session.rollback()


async def test_the_ledger_of_old_cases_is_purged(exposure_sessions) -> None:
    old_case, recent_case, contact = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ledger_row = text(
        "INSERT INTO reported_exposures (case_id, contact_person_id, exposure_id, case_ref, "
        "venue_id, case_visit_id, overlap_start, overlap_end, overlap_minutes) VALUES "
        "(:case_id, :contact, gen_random_uuid(), 'K', gen_random_uuid(), gen_random_uuid(), "
        "now(), now(), 0)"
    )
    async with exposure_sessions() as session, session.begin():
        for case_id, age in ((old_case, 40), (recent_case, 1)):
            await session.execute(
                text(
                    "INSERT INTO exposure_cases (case_id, case_ref, person_id, confirmed_at) "
                    "VALUES (:case_id, 'K', gen_random_uuid(), now() - make_interval(days => :age))"
                ),
                {"case_id": case_id, "age": age},
            )
            await session.execute(ledger_row, {"case_id": case_id, "contact": contact})
        await repository.purge_ledger(session, timedelta(days=35))
        left = (
            await session.execute(
                text("SELECT case_id FROM reported_exposures WHERE contact_person_id = :c"),
                {"c": contact},
            )
        ).scalars()
        assert list(left) == [recent_case]
        await session.rollback()


async def test_the_worker_gets_the_matcher_and_the_purge(exposure_db, exposure_engine) -> None:
    ctx = WorkerContext(
        exposure_db,
        exposure_engine,
        create_sessionmaker(exposure_engine),
        create_producer(exposure_db.kafka_bootstrap_servers, client_id="unused"),
    )
    tasks = build_exposure_tasks(ctx)
    assert len(tasks) == 3  # consumer, late-visit re-match, ledger purge
