"""The screening decision as a pure function: examples from the domain brief and invariants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from lindung_health.screening.rules import (
    ExposureRecord,
    LabTest,
    Rule,
    RuleParameters,
    Vaccination,
    decide,
)
from lindung_shared.events import Colour

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULE = Rule("2020-01-v1", RuleParameters())
ADULT = date(1990, 1, 1)


def at(days: float) -> datetime:
    return NOW + timedelta(days=days)


def colour(**kwargs):  # type: ignore[no-untyped-def]
    defaults = {
        "birth_date": ADULT,
        "vaccinations": [],
        "tests": [],
        "exposures": [],
        "rule": RULE,
        "now": NOW,
    }
    return decide(**{**defaults, **kwargs})


def test_vaccination_colours() -> None:
    assert colour().colour == Colour.RED
    assert colour(vaccinations=[Vaccination(at(-60))]).colour == Colour.YELLOW
    full = colour(vaccinations=[Vaccination(at(-60)), Vaccination(at(-30))])
    assert (full.colour, full.reasons, full.valid_until) == (
        Colour.GREEN,
        ("fully_vaccinated",),
        None,
    )
    # two feeds reporting the same jab count once; a stated dose number counts
    assert (
        colour(
            vaccinations=[Vaccination(at(-30)), Vaccination(at(-30) + timedelta(hours=1))]
        ).colour
        == Colour.YELLOW
    )
    assert colour(vaccinations=[Vaccination(at(-30), dose_number=2)]).colour == Colour.GREEN
    booster = colour(vaccinations=[Vaccination(at(-90)), Vaccination(at(-60)), Vaccination(at(-5))])
    assert booster.reasons == ("fully_vaccinated", "booster")


def test_negative_test_gives_green_until_it_expires() -> None:
    pcr = colour(tests=[LabTest(at(-1), "pcr", "negative")])
    assert pcr.colour == Colour.GREEN and pcr.reasons == ("negative_test",)
    assert pcr.valid_until == at(-1) + timedelta(hours=72)
    antigen = colour(tests=[LabTest(at(-1.5), "antigen", "negative")])
    assert antigen.colour == Colour.RED  # 36 h old: antigen is valid 24 h
    no_tests = Rule("x", RuleParameters(negative_test_gives_green=False))
    assert colour(tests=[LabTest(at(-1), "pcr", "negative")], rule=no_tests).colour == Colour.RED


def test_isolation_ten_days_from_sample_ended_early_by_negative_pcr() -> None:
    positive = LabTest(at(-3), "pcr", "positive")
    iso = colour(tests=[positive], vaccinations=[Vaccination(at(-60)), Vaccination(at(-30))])
    assert (iso.colour, iso.reasons) == (Colour.BLACK, ("isolation",))
    assert iso.valid_until == at(7)
    assert colour(tests=[positive], now=at(7)).colour == Colour.RED  # isolation over
    released = colour(tests=[positive, LabTest(at(-1), "pcr", "negative")])
    assert released.colour == Colour.GREEN  # and the negative PCR is valid for 72 h
    antigen_only = colour(tests=[positive, LabTest(at(-1), "antigen", "negative")])
    assert antigen_only.colour == Colour.BLACK


def test_quarantine_fourteen_days_shortened_by_test_on_day_five() -> None:
    exposure = ExposureRecord(at(-3))
    q = colour(exposures=[exposure])
    assert (q.colour, q.reasons, q.valid_until) == (Colour.BLACK, ("quarantine",), at(11))
    too_early = LabTest(at(-3) + timedelta(days=4), "pcr", "negative")
    assert colour(exposures=[exposure], tests=[too_early]).colour == Colour.BLACK
    day_five = LabTest(at(-3) + timedelta(days=5), "antigen", "negative")
    released = colour(exposures=[exposure], tests=[day_five], now=at(2.5))
    assert released.colour == Colour.GREEN
    assert colour(exposures=[exposure], now=at(11)).colour == Colour.RED


def test_children_under_twelve_are_exempt_until_their_birthday() -> None:
    child = colour(birth_date=date(2016, 3, 1))
    assert (child.colour, child.reasons) == (Colour.GREEN, ("child_exempt",))
    assert child.valid_until is not None and child.valid_until.date() == date(2028, 3, 1)
    strict = Rule("x", RuleParameters(children_exempt_from_vaccination=False))
    assert colour(birth_date=date(2016, 3, 1), rule=strict).colour == Colour.RED


# --- invariants ----------------------------------------------------------------------------

moments = st.floats(min_value=-40, max_value=0).map(at)
tests_st = st.lists(
    st.builds(
        LabTest,
        moments,
        st.sampled_from(["pcr", "antigen"]),
        st.sampled_from(["positive", "negative"]),
    ),
    max_size=4,
)
vaccinations_st = st.lists(
    st.builds(Vaccination, moments, st.none() | st.integers(1, 3)), max_size=4
)
exposures_st = st.lists(st.builds(ExposureRecord, moments), max_size=3)
params_st = st.builds(
    RuleParameters,
    isolation_days=st.integers(1, 21),
    quarantine_days=st.integers(0, 21),
    quarantine_release_test_min_day=st.integers(0, 10),
    pcr_valid_hours=st.integers(0, 120),
    antigen_valid_hours=st.integers(0, 48),
    doses_for_full=st.integers(1, 3),
    booster_dose_number=st.just(4),
    full_protection_after_days=st.integers(0, 14),
)
births = st.dates(min_value=date(1930, 1, 1), max_value=date(2026, 11, 1))


@settings(max_examples=200, deadline=None)
@given(births, vaccinations_st, tests_st, exposures_st, params_st)
def test_confirmed_case_inside_isolation_is_always_black(
    born, vaccinations, tests, exposures, params
) -> None:  # type: ignore[no-untyped-def]
    rule = Rule("r", params)
    result = colour(
        birth_date=born, vaccinations=vaccinations, tests=tests, exposures=exposures, rule=rule
    )
    for t in tests:
        inside = t.result == "positive" and t.sampled_at <= NOW < t.sampled_at + timedelta(
            days=params.isolation_days
        )
        released = any(
            o.result == "negative" and o.test_type == "pcr" and t.sampled_at < o.sampled_at <= NOW
            for o in tests
        )
        if inside and not released:
            assert result.colour == Colour.BLACK
            assert "isolation" in result.reasons


@settings(max_examples=200, deadline=None)
@given(births, vaccinations_st, tests_st, exposures_st, params_st, st.floats(0, 1))
def test_decision_holds_until_valid_until(
    born, vaccinations, tests, exposures, params, fraction
) -> None:  # type: ignore[no-untyped-def]
    rule = Rule("r", params)
    kwargs = {
        "birth_date": born,
        "vaccinations": vaccinations,
        "tests": tests,
        "exposures": exposures,
        "rule": rule,
    }
    first = colour(**kwargs)
    horizon = first.valid_until or at(60)
    assert horizon > NOW
    later = NOW + (horizon - NOW) * fraction
    if later >= horizon:
        return
    again = colour(**kwargs, now=later)
    assert (again.colour, again.reasons) == (first.colour, first.reasons)


@settings(max_examples=200, deadline=None)
@given(births, vaccinations_st, tests_st, moments)
def test_more_doses_never_make_the_colour_worse(born, vaccinations, tests, extra) -> None:  # type: ignore[no-untyped-def]
    order = [Colour.BLACK, Colour.RED, Colour.YELLOW, Colour.GREEN]
    before = colour(birth_date=born, vaccinations=vaccinations, tests=tests)
    after = colour(birth_date=born, vaccinations=[*vaccinations, Vaccination(extra)], tests=tests)
    assert order.index(after.colour) >= order.index(before.colour)


@settings(max_examples=100, deadline=None)
@given(births, vaccinations_st, tests_st, exposures_st)
def test_exposure_inside_quarantine_without_release_test_is_black(
    born, vaccinations, tests, exposures
) -> None:  # type: ignore[no-untyped-def]
    result = colour(birth_date=born, vaccinations=vaccinations, tests=tests, exposures=exposures)
    if not exposures:
        return
    last = max(e.last_exposure_at for e in exposures)
    in_window = last + timedelta(days=14) > NOW
    released = any(
        t.result == "negative" and last + timedelta(days=5) <= t.sampled_at <= NOW for t in tests
    )
    if in_window and not released:
        assert result.colour == Colour.BLACK and "quarantine" in result.reasons


def test_the_traced_window_follows_the_rule_version() -> None:
    assert RuleParameters().traced_days_before_sample() == 14  # the seed's look-back
    assert RuleParameters(lookback_days=10).traced_days_before_sample() == 10
    infectious = RuleParameters(contact_window="infectious_period")
    assert infectious.traced_days_before_sample() == 2
    assert (
        RuleParameters(
            contact_window="infectious_period", infectious_days_before_sample=3
        ).traced_days_before_sample()
        == 3
    )
