"""The screening decision as a pure function: records, exposures, rule and time in; colour,
reasons and how long it holds out. No I/O here, so it can be tested exhaustively.

Colours (most to least restrictive):

- black: isolation (a positive result within ``isolation_days`` of its sample, unless a
  later negative PCR ended it early) or quarantine (within ``quarantine_days`` of the last
  exposure, unless a negative test sampled on day ``quarantine_release_test_min_day`` or
  later ended it);
- green: fully vaccinated, a child exempt from vaccination, or a valid recent negative test;
- yellow: partly vaccinated;
- red: not vaccinated.

``valid_until`` is the earliest moment at which the decision (colour or reasons) would change
with time alone (an isolation ends, a test expires, a child turns 12, a rule's dose takes
effect); ``None`` means "until the records change". The sweeper recomputes at that moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from lindung_shared.events import Colour
from pydantic import BaseModel, ConfigDict, Field, model_validator

TestType = Literal["pcr", "antigen"]
TestResult = Literal["positive", "negative"]
ContactWindow = Literal["lookback", "infectious_period"]

JAKARTA = ZoneInfo("Asia/Jakarta")
_BOTH_TESTS: list[TestType] = ["pcr", "antigen"]


class RuleParameters(BaseModel):
    """The parameters of one screening rule version (stored as JSON in ``screening_rules``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    isolation_days: int = Field(default=10, ge=1, le=60)
    isolation_ends_with_negative_pcr: bool = True
    #: Where a case's traced window starts: ``lookback`` (the seed's rule: every contact of
    #: the last ``lookback_days`` before the sample) or ``infectious_period`` (only from
    #: ``infectious_days_before_sample`` before it). See docs/rules.md.
    contact_window: ContactWindow = "lookback"
    lookback_days: int = Field(default=14, ge=1, le=28)
    infectious_days_before_sample: int = Field(default=2, ge=0, le=14)
    infectious_days_after_sample: int = Field(default=10, ge=0, le=60)
    quarantine_days: int = Field(default=14, ge=0, le=60)
    quarantine_release_test_min_day: int = Field(default=5, ge=0, le=60)
    quarantine_release_test_types: list[TestType] = Field(default_factory=lambda: _BOTH_TESTS[:])
    pcr_valid_hours: int = Field(default=72, ge=0, le=24 * 30)
    antigen_valid_hours: int = Field(default=24, ge=0, le=24 * 30)
    negative_test_gives_green: bool = True
    doses_for_full: int = Field(default=2, ge=1, le=10)
    full_protection_after_days: int = Field(default=0, ge=0, le=60)
    booster_dose_number: int = Field(default=3, ge=1, le=10)
    child_age_years: int = Field(default=12, ge=0, le=18)
    children_exempt_from_vaccination: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> RuleParameters:
        if self.booster_dose_number <= self.doses_for_full:
            raise ValueError("booster_dose_number must be above doses_for_full")
        return self

    def traced_days_before_sample(self) -> int:
        """How many days before a case's sample its contacts are traced."""
        if self.contact_window == "lookback":
            return self.lookback_days
        return self.infectious_days_before_sample

    def test_validity(self, test_type: TestType) -> timedelta:
        hours = self.pcr_valid_hours if test_type == "pcr" else self.antigen_valid_hours
        return timedelta(hours=hours)


@dataclass(frozen=True)
class Vaccination:
    administered_at: datetime
    dose_number: int | None = None


@dataclass(frozen=True)
class LabTest:
    sampled_at: datetime
    test_type: TestType
    result: TestResult


@dataclass(frozen=True)
class ExposureRecord:
    last_exposure_at: datetime


@dataclass(frozen=True)
class Rule:
    version: str
    parameters: RuleParameters


@dataclass(frozen=True)
class Decision:
    colour: Colour
    reasons: tuple[str, ...]
    valid_until: datetime | None
    rule_version: str


def _earliest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def _birthday(born: date, years: int) -> datetime:
    try:
        day = born.replace(year=born.year + years)
    except ValueError:  # born on 29 February
        day = date(born.year + years, 3, 1)
    return datetime.combine(day, time(), JAKARTA)


def isolation_until(tests: Sequence[LabTest], p: RuleParameters, now: datetime) -> datetime | None:
    """End of the isolation in force at ``now`` (None: not isolating)."""
    end: datetime | None = None
    for test in tests:
        if test.result != "positive" or not (test.sampled_at <= now):
            continue
        until = test.sampled_at + timedelta(days=p.isolation_days)
        if now >= until:
            continue
        released = p.isolation_ends_with_negative_pcr and any(
            t.result == "negative"
            and t.test_type == "pcr"
            and test.sampled_at < t.sampled_at <= now
            for t in tests
        )
        if not released:
            end = until if end is None else max(end, until)
    return end


def quarantine_until(
    exposures: Sequence[ExposureRecord],
    tests: Sequence[LabTest],
    p: RuleParameters,
    now: datetime,
) -> datetime | None:
    """End of the quarantine in force at ``now`` (None: not in quarantine)."""
    known = [e.last_exposure_at for e in exposures if e.last_exposure_at <= now]
    if not known or p.quarantine_days == 0:
        return None
    last = max(known)
    until = last + timedelta(days=p.quarantine_days)
    if now >= until:
        return None
    earliest_release = last + timedelta(days=p.quarantine_release_test_min_day)
    released = any(
        t.result == "negative"
        and t.test_type in p.quarantine_release_test_types
        and earliest_release <= t.sampled_at <= now
        for t in tests
    )
    return None if released else until


def dose_count(vaccinations: Sequence[Vaccination]) -> int:
    """Doses received: distinct days of vaccination (two feeds reporting the same jab count
    once), or the highest dose number a record states, whichever is larger."""
    days = {v.administered_at.astimezone(JAKARTA).date() for v in vaccinations}
    stated = max((v.dose_number or 0 for v in vaccinations), default=0)
    return max(len(days), stated)


def decide(
    *,
    birth_date: date | None,
    vaccinations: Sequence[Vaccination],
    tests: Sequence[LabTest],
    exposures: Sequence[ExposureRecord],
    rule: Rule,
    now: datetime,
) -> Decision:
    """The colour of a person at ``now`` under ``rule``. Records dated after ``now`` are
    ignored (they are not known yet at that moment)."""
    p = rule.parameters
    tests = [t for t in tests if t.sampled_at <= now]

    isolation = isolation_until(tests, p, now)
    quarantine = quarantine_until(exposures, tests, p, now)
    if isolation is not None or quarantine is not None:
        black_reasons = tuple(
            r
            for r, active in (("isolation", isolation), ("quarantine", quarantine))
            if active is not None
        )
        return Decision(Colour.BLACK, black_reasons, _earliest(isolation, quarantine), rule.version)

    # The next positive result's isolation, or a later exposure, come with new records;
    # what follows only changes with time through the moments collected here.
    protection_delay = timedelta(days=p.full_protection_after_days)
    given = [v for v in vaccinations if v.administered_at <= now]
    effective = [v for v in given if v.administered_at + protection_delay <= now]
    pending = [v.administered_at + protection_delay for v in given if v not in effective]
    next_vaccine_change = min(pending) if pending else None
    doses = dose_count(effective)

    if doses >= p.doses_for_full:
        reasons: tuple[str, ...] = ("fully_vaccinated",)
        if doses >= p.booster_dose_number:
            reasons += ("booster",)
        upcoming = next_vaccine_change if doses < p.booster_dose_number else None
        return Decision(Colour.GREEN, reasons, upcoming, rule.version)

    child_until: datetime | None = None
    if birth_date is not None and p.children_exempt_from_vaccination:
        turns_adult = _birthday(birth_date, p.child_age_years)
        if now < turns_adult:
            child_until = turns_adult

    test_until: datetime | None = None
    if p.negative_test_gives_green:
        for t in tests:
            if t.result != "negative":
                continue
            expires = t.sampled_at + p.test_validity(t.test_type)
            if now < expires:
                test_until = expires if test_until is None else max(test_until, expires)

    if child_until is not None or test_until is not None:
        green_reasons = tuple(
            r
            for r, active in (("child_exempt", child_until), ("negative_test", test_until))
            if active is not None
        )
        return Decision(
            Colour.GREEN,
            green_reasons,
            _earliest(child_until, test_until, next_vaccine_change),
            rule.version,
        )

    if doses >= 1:
        return Decision(Colour.YELLOW, ("partially_vaccinated",), next_vaccine_change, rule.version)
    return Decision(Colour.RED, ("unvaccinated",), next_vaccine_change, rule.version)
