"""The overlap rule, in pure Python: when two stays at one venue make a close contact.

Stays are half-open intervals ``[start, end)``: a visit without a check-out lasts until its
automatic check-out time. The case's stay is first clipped to the case's infectious window,
then widened by the venue category's margins (before and after); the contact's stay must
overlap that widened stay by more than zero and by at least the category's minimum. Stays
that only touch (one ends exactly when the other starts) overlap by zero and are not contacts.

The SQL matcher (:mod:`lindung_checkin.exposure.repository`) implements the same rule set-based;
the property tests compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open time interval ``[start, end)``; empty when ``end <= start``."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return max(self.end - self.start, timedelta(0))

    @property
    def is_empty(self) -> bool:
        return self.end <= self.start

    @property
    def minutes(self) -> float:
        return self.duration.total_seconds() / 60


@dataclass(frozen=True)
class ExposureRule:
    """The contact rule of one venue category (all default to zero)."""

    margin_before: timedelta = timedelta(0)
    margin_after: timedelta = timedelta(0)
    min_overlap: timedelta = timedelta(0)


def intersection(a: Interval, b: Interval) -> Interval | None:
    """The common part of two intervals, or None when they do not overlap (touching is not
    overlapping)."""
    common = Interval(max(a.start, b.start), min(a.end, b.end))
    return None if common.is_empty else common


def widen(stay: Interval, before: timedelta, after: timedelta) -> Interval:
    return Interval(stay.start - before, stay.end + after)


def case_exposure_window(
    stay: Interval, infectious: Interval, rule: ExposureRule
) -> Interval | None:
    """The time during which being at the venue exposes someone to the case: the case's stay
    within its infectious window, widened by the rule's margins."""
    infectious_stay = intersection(stay, infectious)
    if infectious_stay is None:
        return None
    return widen(infectious_stay, rule.margin_before, rule.margin_after)


def contact_overlap(
    case_window: Interval, contact_stay: Interval, rule: ExposureRule
) -> Interval | None:
    """The overlap that makes ``contact_stay`` a close contact, or None."""
    common = intersection(case_window, contact_stay)
    if common is None or common.duration < rule.min_overlap:
        return None
    return common
