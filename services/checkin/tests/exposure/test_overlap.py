"""The pure overlap rule: examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from lindung_checkin.exposure.overlap import (
    ExposureRule,
    Interval,
    case_exposure_window,
    contact_overlap,
    intersection,
)

T0 = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
ZERO = ExposureRule()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iv(start: float, end: float) -> Interval:
    return Interval(at(start), at(end))


def test_overlapping_stays_overlap_by_their_common_part() -> None:
    assert intersection(iv(0, 60), iv(30, 90)) == iv(30, 60)


def test_touching_stays_do_not_overlap() -> None:
    assert intersection(iv(0, 60), iv(60, 90)) is None
    assert contact_overlap(iv(0, 60), iv(60, 90), ZERO) is None


def test_a_margin_after_the_stay_makes_a_later_arrival_a_contact() -> None:
    rule = ExposureRule(margin_after=timedelta(minutes=15))
    window = case_exposure_window(iv(0, 60), iv(-1000, 1000), rule)
    assert window == iv(0, 75)
    assert contact_overlap(window, iv(70, 200), rule) == iv(70, 75)


def test_minimum_overlap_is_inclusive() -> None:
    rule = ExposureRule(min_overlap=timedelta(minutes=15))
    assert contact_overlap(iv(0, 60), iv(45, 90), rule) == iv(45, 60)
    assert contact_overlap(iv(0, 60), iv(46, 90), rule) is None


def test_the_case_stay_is_clipped_to_the_infectious_window() -> None:
    assert case_exposure_window(iv(0, 120), iv(60, 1000), ZERO) == iv(60, 120)
    assert case_exposure_window(iv(0, 60), iv(60, 1000), ZERO) is None


def test_a_stay_across_midnight_overlaps_on_both_days() -> None:
    overnight = iv(30, 150)  # 23:30 to 01:30 the next day
    assert contact_overlap(overnight, iv(-30, 45), ZERO) == iv(30, 45)
    assert contact_overlap(overnight, iv(100, 400), ZERO) == iv(100, 150)


minutes = st.integers(min_value=-600, max_value=600)
intervals = st.builds(lambda a, d: iv(a, a + d), minutes, st.integers(0, 300))
rules = st.builds(
    lambda b, a, m: ExposureRule(timedelta(minutes=b), timedelta(minutes=a), timedelta(minutes=m)),
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 120),
)


def _covers(i: Interval, t: datetime) -> bool:
    return i.start <= t < i.end


@given(intervals, intervals)
def test_intersection_is_symmetric_and_inside_both(a: Interval, b: Interval) -> None:
    common = intersection(a, b)
    assert common == intersection(b, a)
    if common is not None:
        assert a.start <= common.start < common.end <= a.end
        assert b.start <= common.start < common.end <= b.end


@given(intervals, intervals)
def test_intersection_matches_minute_by_minute_presence(a: Interval, b: Interval) -> None:
    shared = [m for m in range(-700, 1000) if _covers(a, at(m)) and _covers(b, at(m))]
    common = intersection(a, b)
    if not shared:
        assert common is None
    else:
        assert common == iv(shared[0], shared[-1] + 1)


@given(intervals, intervals, rules)
def test_wider_margins_never_lose_a_contact(stay: Interval, other: Interval, rule: ExposureRule):
    infectious = iv(-10_000, 10_000)
    narrow = case_exposure_window(stay, infectious, ExposureRule(min_overlap=rule.min_overlap))
    wide = case_exposure_window(stay, infectious, rule)
    if narrow is not None and contact_overlap(narrow, other, rule) is not None:
        assert wide is not None
        found = contact_overlap(wide, other, rule)
        assert found is not None
        assert found.duration >= contact_overlap(narrow, other, rule).duration  # type: ignore[union-attr]


@given(intervals, intervals, rules)
def test_a_contact_always_meets_the_minimum(stay: Interval, other: Interval, rule: ExposureRule):
    window = case_exposure_window(stay, iv(-10_000, 10_000), rule)
    found = None if window is None else contact_overlap(window, other, rule)
    if found is not None:
        assert found.duration >= rule.min_overlap
        assert found.duration > timedelta(0)
