"""What attached foreign certificates contribute to the screening status (pure part)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from lindung_health.certificates.models import ForeignCertificate
from lindung_health.certificates.status import decision_inputs


def _attached(kind: str, entry: dict[str, Any]) -> ForeignCertificate:
    return ForeignCertificate(
        id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        uvci="U",
        certificate_type=kind,
        issuer_country="AT",
        kid=b"12345678",
        hc1="HC1:",
        dcc={"ver": "1.3.0", kind: [entry]},
    )


def test_vaccinations_tests_and_recoveries_become_decision_inputs() -> None:
    vaccinations, tests = decision_inputs(
        [
            _attached("v", {"dt": "2021-06-01", "dn": 3, "sd": 3}),
            _attached("t", {"sc": "2026-11-24T08:00:00Z", "tt": "LP217198-3", "tr": "260415000"}),
            _attached("r", {"fr": "2026-10-01", "df": "2026-10-12", "du": "2027-03-30"}),
        ]
    )
    assert [(v.administered_at.date().isoformat(), v.dose_number) for v in vaccinations] == [
        ("2021-06-01", 3)
    ]
    assert [(t.sampled_at, t.test_type, t.result) for t in tests] == [
        (datetime(2026, 11, 24, 8, tzinfo=UTC), "antigen", "negative"),
        (datetime(2026, 10, 1, 12, tzinfo=UTC), "pcr", "positive"),
    ]


def test_unreadable_entries_are_ignored_not_guessed() -> None:
    vaccinations, tests = decision_inputs(
        [
            _attached("v", {"dt": "someday", "dn": 1}),
            _attached("t", {"sc": "2026-11-24T08:00:00Z", "tt": "LP217198-3", "tr": "?"}),
        ]
    )
    assert (vaccinations, tests) == ([], [])
