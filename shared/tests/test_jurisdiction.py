"""Jurisdictions: parsing, the token claim's shapes, and what each covers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lindung_shared.jurisdiction import Jurisdiction

codes = st.from_regex(r"\A\d{4}\Z")


def test_each_kind_covers_what_it_names() -> None:
    assert Jurisdiction.parse("national").covers("9471")
    west_java = Jurisdiction.parse("provinces:32")
    assert west_java.covers("3273") and west_java.covers("3204") and not west_java.covers("3171")
    two = Jurisdiction.parse("regencies:3273, 3204")
    assert two.covers("3204") and not two.covers("3201")


@pytest.mark.parametrize(
    "claim",
    [
        {"national": False},
        {"national": True, "regencies": ["3273"]},
        {"regencies": "3273"},
        {"regencies": []},
        {"regencies": ["327"]},
        {"provinces": ["3273"]},
        {"districts": ["3273"]},
        ["national"],
        None,
    ],
)
def test_malformed_claims_are_refused(claim: object) -> None:
    with pytest.raises(ValueError):
        Jurisdiction.from_claim(claim)


@given(st.sets(codes, min_size=1, max_size=20), codes)
def test_a_claim_round_trips_and_covers_exactly_its_regencies(
    regencies: set[str], probe: str
) -> None:
    jurisdiction = Jurisdiction.of("regencies", sorted(regencies))
    again = Jurisdiction.from_claim(jurisdiction.claim())
    assert again == jurisdiction
    assert again.covers(probe) == (probe in regencies)
