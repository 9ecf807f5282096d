"""The pure rule that sorts offline scan times (property-based)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from lindung_checkin.checkins.service import classify_offline_time
from lindung_checkin.settings import Settings

SETTINGS = Settings()
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


@given(st.integers(min_value=-30 * 86400, max_value=86400))
def test_every_time_falls_in_exactly_one_class(offset_seconds):
    scanned = NOW - timedelta(seconds=offset_seconds)
    kind = classify_offline_time(scanned, NOW, SETTINGS)
    if scanned > NOW + timedelta(seconds=SETTINGS.future_tolerance_seconds):
        assert kind == "future"
    elif scanned < NOW - timedelta(days=SETTINGS.lookback_days):
        assert kind == "too-old"
    elif NOW - scanned <= timedelta(seconds=SETTINGS.offline_live_window_seconds):
        assert kind == "live"
    else:
        assert kind == "late"


@given(st.integers(0, 20 * 86400), st.integers(0, 20 * 86400))
def test_older_is_never_more_live(a, b):
    order = ["live", "late", "too-old"]
    older, newer = max(a, b), min(a, b)
    k_old = classify_offline_time(NOW - timedelta(seconds=older), NOW, SETTINGS)
    k_new = classify_offline_time(NOW - timedelta(seconds=newer), NOW, SETTINGS)
    assert order.index(k_old) >= order.index(k_new)
