from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lindung_shared.errors import Unprocessable
from lindung_venues.regions.catalogue import RegencyCatalogue, timezone_of_province
from lindung_venues.venues.service import check_coordinates, check_regency

SHIPPED = RegencyCatalogue.load()


def test_shipped_codes_are_the_official_list():
    assert len(SHIPPED) == 514
    assert SHIPPED.get("3171").name == "KOTA JAKARTA SELATAN"
    assert "9301" not in SHIPPED  # after the 2022 split: only with the operator's extra CSV


@pytest.mark.parametrize(
    ("code", "timezone"),
    [
        ("1101", "Asia/Jakarta"),  # Aceh
        ("3171", "Asia/Jakarta"),
        ("6171", "Asia/Jakarta"),  # Pontianak, West Kalimantan
        ("6271", "Asia/Jakarta"),  # Palangka Raya, Central Kalimantan
        ("5171", "Asia/Makassar"),  # Denpasar
        ("5371", "Asia/Makassar"),  # Kupang
        ("6471", "Asia/Makassar"),  # Balikpapan
        ("7371", "Asia/Makassar"),  # Makassar
        ("8171", "Asia/Jayapura"),  # Ambon
        ("9171", "Asia/Jayapura"),  # Sorong
        ("9471", "Asia/Jayapura"),  # Jayapura
    ],
)
def test_timezone_of_known_regencies(code, timezone):
    assert code in SHIPPED
    assert SHIPPED.timezone_of(code) == timezone


def test_extra_csv_adds_codes_and_rejects_bad_rows(tmp_path: Path):
    extra = tmp_path / "extra.csv"
    extra.write_text("code,province_code,name\n9501,95,KABUPATEN JAYAWIJAYA\n")
    catalogue = RegencyCatalogue.load(extra)
    assert len(catalogue) == 515 and catalogue.timezone_of("9501") == "Asia/Jayapura"
    for bad in ("95011,95,X\n", "9501,96,X\n", "9501\n", "abcd,ab,X\n"):
        extra.write_text(bad)
        with pytest.raises(ValueError, match="line 1"):
            RegencyCatalogue.load(extra)


@given(st.from_regex(r"\d{4}", fullmatch=True))
def test_a_code_is_accepted_exactly_when_it_is_listed(code):
    if code in SHIPPED:
        check_regency(SHIPPED, code)
    else:
        with pytest.raises(Unprocessable):
            check_regency(SHIPPED, code)


@given(st.sampled_from(sorted({c[:2] for c in SHIPPED.regencies})))
def test_every_province_has_one_of_the_three_zones(province):
    assert timezone_of_province(province) in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


@given(
    st.floats(min_value=-11.5, max_value=6.5),
    st.floats(min_value=94.5, max_value=141.5),
)
def test_coordinates_inside_indonesia_pass(latitude, longitude):
    check_coordinates(latitude, longitude)


@given(
    st.one_of(
        st.tuples(
            st.floats(min_value=6.51, max_value=90), st.floats(min_value=-180, max_value=180)
        ),
        st.tuples(
            st.floats(min_value=-90, max_value=-11.51), st.floats(min_value=-180, max_value=180)
        ),
        st.tuples(
            st.floats(min_value=-90, max_value=90), st.floats(min_value=141.51, max_value=180)
        ),
        st.tuples(
            st.floats(min_value=-90, max_value=90), st.floats(min_value=-180, max_value=94.49)
        ),
    )
)
def test_coordinates_outside_indonesia_fail(point):
    with pytest.raises(Unprocessable):
        check_coordinates(*point)
