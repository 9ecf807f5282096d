"""The log filter that collapses repeats under an outage."""

from __future__ import annotations

import logging

from lindung_shared.logging import RepeatCollapser


def _record(msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("lindung.test", level, __file__, 1, msg, args, None)


def test_repeats_beyond_the_burst_are_dropped_and_counted_on_the_next_line(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("lindung_shared.logging.time.monotonic", lambda: now[0])
    collapser = RepeatCollapser(burst=3, window=10.0)
    passed = [collapser.filter(_record("kafka down: %s", i)) for i in range(1000)]
    assert passed.count(True) == 3
    # Other kinds of line are not held back by this one.
    assert collapser.filter(_record("something else"))
    assert collapser.filter(_record("kafka down: %s", 1, level=logging.ERROR))
    now[0] += 10.5
    record = _record("kafka down: %s", "again")
    assert collapser.filter(record)
    assert record.repeats_suppressed == 997
    follow_up = _record("kafka down: %s", "again")
    assert collapser.filter(follow_up)
    assert not hasattr(follow_up, "repeats_suppressed")


def test_the_table_of_kinds_stays_bounded():
    collapser = RepeatCollapser(burst=1, window=10.0, max_kinds=100)
    for i in range(1000):
        assert collapser.filter(_record(f"distinct {i}"))
    assert len(collapser._kinds) <= 100
