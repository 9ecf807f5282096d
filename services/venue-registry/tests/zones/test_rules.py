from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lindung_venues.zones.rules import colour_of, effective_capacity


@given(st.integers(min_value=1, max_value=1_000_000), st.integers(min_value=1, max_value=100))
def test_effective_capacity_is_floor_of_percent_and_at_least_one(capacity, percent):
    result = effective_capacity(capacity, percent)
    assert result == max(1, (capacity * percent) // 100)
    assert 1 <= result <= capacity
    assert result <= capacity * percent / 100 or result == 1


@given(st.integers(min_value=1, max_value=1_000_000), st.integers(min_value=1, max_value=99))
def test_more_percent_never_means_fewer_people(capacity, percent):
    assert effective_capacity(capacity, percent) <= effective_capacity(capacity, percent + 1)


def test_examples_and_bounds():
    assert effective_capacity(1001, 25) == 250
    assert effective_capacity(3, 1) == 1
    assert effective_capacity(8000, 100) == 8000
    assert [colour_of(level) for level in (1, 2, 3, 4)] == ["green", "yellow", "orange", "red"]
    with pytest.raises(ValueError):
        effective_capacity(0, 50)
    with pytest.raises(ValueError):
        effective_capacity(10, 0)
