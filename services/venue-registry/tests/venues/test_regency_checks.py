"""The venue registry's checks of a venue's regency and coordinates (the regency list and
time zones themselves are shared: ``shared/tests/test_regions.py``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lindung_shared.errors import Unprocessable
from lindung_shared.regions import RegencyCatalogue
from lindung_venues.venues.service import check_coordinates, check_regency

SHIPPED = RegencyCatalogue.load()


@given(st.from_regex(r"\d{4}", fullmatch=True))
def test_a_code_is_accepted_exactly_when_it_is_listed(code):
    if code in SHIPPED:
        check_regency(SHIPPED, code)
    else:
        with pytest.raises(Unprocessable):
            check_regency(SHIPPED, code)


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
