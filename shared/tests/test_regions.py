from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lindung_shared.regions import (
    RegencyCatalogue,
    shipped_provinces,
    shipped_regency_codes,
    timezone_of_province,
    timezone_of_regency,
)

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


@given(st.sampled_from(sorted({c[:2] for c in SHIPPED.regencies})))
def test_every_province_has_one_of_the_three_zones(province):
    assert timezone_of_province(province) in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


def test_the_shipped_lists_agree():
    codes = shipped_regency_codes()
    assert codes == set(SHIPPED.regencies)
    assert {c[:2] for c in codes} <= set(shipped_provinces())
    assert all(timezone_of_regency(c) == SHIPPED.timezone_of(c) for c in codes)
