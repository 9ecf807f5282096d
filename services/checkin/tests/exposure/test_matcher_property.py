"""The SQL matcher against a brute-force oracle over random visits (real PostgreSQL).

Each example seeds venues, rules and visits in one transaction, runs the matcher, compares the
ledger and the staged events with what the oracle computes from the pure overlap rule, and
rolls back. Times sit on a 30-minute grid (plus a few odd minutes) around midnight so that
touching stays, stays across midnight and stays on the window's edges come up often.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lindung_checkin.exposure import service
from lindung_checkin.exposure.overlap import (
    ExposureRule,
    Interval,
    case_exposure_window,
    contact_overlap,
)
from lindung_checkin.exposure.settings import ExposureSettings
from lindung_shared.events.catalogue import CaseConfirmed, ExposureDetected, VenueCaseVisited
from sqlalchemy import text

MIDNIGHT = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), datetime.min.time(), UTC)
CATEGORIES = ("mall", "restaurant", "office")


def at(minutes: int) -> datetime:
    return MIDNIGHT + timedelta(minutes=minutes)


grid = st.one_of(
    st.integers(-12, 12).map(lambda k: k * 30), st.integers(-360, 360)
)  # minutes from midnight
durations = st.one_of(st.sampled_from([0, 0, 30, 60, 90, 120, 240]), st.integers(0, 300))


@dataclass(frozen=True)
class Scenario:
    case_person: uuid.UUID
    venues: list[dict[str, Any]]
    visits: list[dict[str, Any]]
    rules: dict[str, ExposureRule]
    sample_at: datetime
    infectious_from: datetime
    infectious_until: datetime
    lookback_days: float


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    venues = [
        {"venue_id": uuid.uuid4(), "category": draw(st.sampled_from(CATEGORIES))}
        for _ in range(draw(st.integers(1, 2)))
    ]
    people = [uuid.uuid4() for _ in range(draw(st.integers(1, 4)))]
    case_person = people[0]
    rule = st.builds(
        lambda b, a, m: ExposureRule(
            timedelta(minutes=b), timedelta(minutes=a), timedelta(minutes=m)
        ),
        st.sampled_from([0, 0, 15, 30]),
        st.sampled_from([0, 0, 15, 30]),
        st.sampled_from([0, 0, 0, 15, 30, 45.5]),
    )
    rules = {"*": draw(rule)}
    for category in draw(st.sets(st.sampled_from(CATEGORIES))):
        rules[category] = draw(rule)
    visits = []
    for _ in range(draw(st.integers(1, 16))):
        person = draw(st.sampled_from(people)) if draw(st.booleans()) else case_person
        start = at(draw(grid))
        duration = timedelta(minutes=draw(durations))
        open_ = draw(st.booleans())
        auto = duration + timedelta(minutes=draw(st.sampled_from([0, 30, 60])))
        visits.append(
            {
                "visit_id": uuid.uuid4(),
                "person_id": person,
                "venue_id": draw(st.sampled_from(venues))["venue_id"],
                "checked_in_at": start,
                "checked_out_at": None if open_ else start + duration,
                "auto_checkout_at": start + auto,
            }
        )
    infectious_from = at(draw(grid))
    return Scenario(
        case_person=case_person,
        venues=venues,
        visits=visits,
        rules=rules,
        sample_at=at(draw(grid)),
        infectious_from=infectious_from,
        infectious_until=infectious_from + timedelta(minutes=draw(st.integers(0, 1440))),
        lookback_days=draw(st.sampled_from([14.0, 14.0, 0.25])),
    )


def _end(visit: dict[str, Any]) -> datetime:
    out: datetime | None = visit["checked_out_at"]
    return out if out is not None else visit["auto_checkout_at"]


def oracle(s: Scenario) -> tuple[dict[uuid.UUID, tuple[Any, ...]], set[uuid.UUID]]:
    """Brute force: every case visit against every other visit; the longest overlap per
    contact (ties: earliest start, then venue id)."""
    window_start = max(s.infectious_from, s.sample_at - timedelta(days=s.lookback_days))
    infectious = Interval(window_start, s.infectious_until)
    category = {v["venue_id"]: v["category"] for v in s.venues}
    best: dict[uuid.UUID, tuple[Any, ...]] = {}
    case_visits: set[uuid.UUID] = set()
    for case_visit in s.visits:
        if case_visit["person_id"] != s.case_person:
            continue
        rule = s.rules.get(category[case_visit["venue_id"]], s.rules["*"])
        stay = Interval(case_visit["checked_in_at"], _end(case_visit))
        window = case_exposure_window(stay, infectious, rule)
        if window is None:
            continue
        case_visits.add(case_visit["visit_id"])
        for other in s.visits:
            if other["person_id"] == s.case_person or other["venue_id"] != case_visit["venue_id"]:
                continue
            found = contact_overlap(window, Interval(other["checked_in_at"], _end(other)), rule)
            if found is None:
                continue
            candidate = (other["venue_id"], found.start, found.end)
            current = best.get(other["person_id"])
            if current is None or _rank(candidate) < _rank(current):
                best[other["person_id"]] = candidate
    return best, case_visits


def _rank(c: tuple[Any, ...]) -> tuple[Any, ...]:
    venue_id, start, end = c
    return (-(end - start), start, venue_id)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(s=scenarios())
async def test_sql_matcher_agrees_with_the_oracle(exposure_sessions, seed, s: Scenario) -> None:
    case = CaseConfirmed(
        case_id=uuid.uuid4(),
        case_ref="K-TEST",
        person_id=s.case_person,
        sample_taken_at=s.sample_at,
        infectious_from=s.infectious_from,
        infectious_until=s.infectious_until,
    )
    expected, expected_visits = oracle(s)
    event(f"contacts: {min(len(expected), 3)}")
    event(f"case visits: {min(len(expected_visits), 2)}")
    async with exposure_sessions() as session, session.begin():
        await seed(
            session,
            [{**v, "name": "V", "timezone": "Asia/Jakarta", "manager_id": "m"} for v in s.venues],
            s.visits,
        )
        await session.execute(text("DELETE FROM exposure_rules"))
        await session.execute(
            text(
                "INSERT INTO exposure_rules (category, margin_before_minutes, "
                "margin_after_minutes, min_overlap_minutes) VALUES (:c, :b, :a, :m)"
            ),
            [
                {
                    "c": c,
                    "b": r.margin_before // timedelta(minutes=1),
                    "a": r.margin_after // timedelta(minutes=1),
                    "m": r.min_overlap / timedelta(minutes=1),
                }
                for c, r in s.rules.items()
            ],
        )
        settings_ = ExposureSettings(lookback_days=s.lookback_days)
        counts = await service.match_case(session, case, settings_)
        rows = (
            await session.execute(
                text("SELECT type, payload FROM outbox ORDER BY id"),
            )
        ).all()
        again = await service.match_case(session, case, settings_)
        await session.rollback()

    detected = [ExposureDetected.model_validate(p) for t, p in rows if t == "exposure.detected"]
    visited = [VenueCaseVisited.model_validate(p) for t, p in rows if t == "venue.case_visited"]
    actual = {e.contact_person_id: (e.venue_id, e.overlap_start, e.overlap_end) for e in detected}
    assert actual == expected
    assert len(detected) == len(expected) == counts.exposures
    for e in detected:
        assert (
            abs(e.overlap_minutes - (e.overlap_end - e.overlap_start) / timedelta(minutes=1)) < 1e-9
        )
        assert e.case_ref == "K-TEST"
    assert len(visited) == len(expected_visits) == counts.venue_alerts
    assert (again.exposures, again.venue_alerts) == (0, 0)
