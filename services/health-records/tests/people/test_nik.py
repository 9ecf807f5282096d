"""The NIK validator: generated valid NIKs pass; mutated region or date digits fail."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lindung_health.people.nik import InvalidNik, RegionCodes, nik_for, official_regions, parse_nik

TODAY = date(2026, 11, 25)
REGIONS = RegionCodes()
REGENCIES = sorted(official_regions()[1])

valid_niks = st.builds(
    lambda regency, district, born, sex, serial: (
        nik_for(regency, f"{district:02d}", born, sex, serial),
        born,
        sex,
    ),
    st.sampled_from(REGENCIES),
    st.integers(1, 99),
    st.dates(min_value=date(1927, 1, 1), max_value=TODAY),
    st.sampled_from(["F", "M"]),
    st.integers(1, 9999),
)


@given(valid_niks)
def test_generated_valid_niks_pass_and_decode(case: tuple[str, date, str]) -> None:
    nik, born, sex = case
    info = parse_nik(nik, REGIONS, today=TODAY)
    assert info.sex == sex
    assert info.agrees_with(born)
    assert born in info.birth_date_candidates(TODAY)


@given(valid_niks, st.integers(32, 39) | st.integers(72, 99))
def test_impossible_day_fails(case: tuple[str, date, str], day: int) -> None:
    nik = case[0]
    mutated = nik[:6] + f"{day:02d}" + nik[8:]
    with pytest.raises(InvalidNik) as raised:
        parse_nik(mutated, REGIONS, today=TODAY)
    assert raised.value.reason == "nik-birth-date"


@given(valid_niks, st.integers(13, 99) | st.just(0))
def test_impossible_month_fails(case: tuple[str, date, str], month: int) -> None:
    nik = case[0]
    mutated = nik[:8] + f"{month:02d}" + nik[10:]
    with pytest.raises(InvalidNik) as raised:
        parse_nik(mutated, REGIONS, today=TODAY)
    assert raised.value.reason == "nik-birth-date"


@given(valid_niks, st.integers(0, 9999).map(lambda n: f"{n:04d}"))
def test_unknown_region_fails(case: tuple[str, date, str], regency: str) -> None:
    provinces, regencies = official_regions()
    if regency in regencies:
        return
    mutated = regency + case[0][4:]
    with pytest.raises(InvalidNik) as raised:
        parse_nik(mutated, REGIONS, today=TODAY)
    expected = "nik-regency" if regency[:2] in provinces else "nik-province"
    assert raised.value.reason == expected
    assert mutated not in str(raised.value)  # never quotes the NIK


def test_women_add_forty_to_the_day() -> None:
    nik = nik_for("3171", "01", date(1990, 5, 17), "F", 12)
    assert nik[6:8] == "57"
    assert parse_nik(nik, REGIONS, today=TODAY).sex == "F"


def test_format_district_serial_and_future_birth() -> None:
    with pytest.raises(InvalidNik, match="16 digits"):
        parse_nik("31710157059000", REGIONS, today=TODAY)
    with pytest.raises(InvalidNik, match="16 digits"):
        parse_nik("317101570590001X", REGIONS, today=TODAY)
    with pytest.raises(InvalidNik) as raised:
        parse_nik(nik_for("3171", "00", date(1990, 5, 17), "M", 1), REGIONS, today=TODAY)
    assert raised.value.reason == "nik-district"
    with pytest.raises(InvalidNik) as raised:
        parse_nik(nik_for("3171", "01", date(1990, 5, 17), "M", 0), REGIONS, today=TODAY)
    assert raised.value.reason == "nik-serial"
    # 30 Nov "26" is after today in 2026 and 1926 is... still a real past date, so it decodes;
    # 29 Feb "25" exists in neither 2025 nor 1925.
    with pytest.raises(InvalidNik):
        parse_nik("3171012902250001", REGIONS, today=TODAY)


def test_operator_supplied_codes_extend_the_list() -> None:
    # Papua Selatan (93) was created in 2022, after the shipped list.
    nik = nik_for("9301", "01", date(2000, 1, 2), "M", 5)
    with pytest.raises(InvalidNik):
        parse_nik(nik, REGIONS, today=TODAY)
    assert (
        parse_nik(nik, RegionCodes.from_setting("9301, 9302"), today=TODAY).regency_code == "9301"
    )
