"""What verified foreign certificates tell the screening status engine.

The engine calls :func:`foreign_decision_inputs` next to its own records: foreign
vaccinations count as doses, foreign tests as test results; a foreign recovery certificate
says the person had a positive PCR on its ``fr`` date (so it counts as that test did).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.certificates import repository
from lindung_health.certificates.models import ForeignCertificate
from lindung_health.screening.rules import LabTest, Vaccination

_TEST_TYPES = {"LP6464-4": "pcr", "LP217198-3": "antigen"}
_RESULTS = {"260415000": "negative", "260373001": "positive"}


def _noon(day: str) -> datetime | None:
    # A DCC date has no time zone; noon UTC falls on the same calendar day in Indonesia.
    try:
        return datetime.combine(date.fromisoformat(day[:10]), time(12), tzinfo=UTC)
    except ValueError:
        return None


def _moment(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def decision_inputs(
    certificates: Sequence[ForeignCertificate],
) -> tuple[list[Vaccination], list[LabTest]]:
    """Vaccinations and lab tests stated by verified foreign certificates (pure)."""
    vaccinations: list[Vaccination] = []
    tests: list[LabTest] = []
    for certificate in certificates:
        for entry in certificate.dcc.get("v") or []:
            given = _noon(str(entry.get("dt", "")))
            if given is not None:
                dose = entry.get("dn")
                vaccinations.append(Vaccination(given, dose if isinstance(dose, int) else None))
        for entry in certificate.dcc.get("t") or []:
            sampled = _moment(str(entry.get("sc", "")))
            test_type = _TEST_TYPES.get(str(entry.get("tt")))
            result = _RESULTS.get(str(entry.get("tr")))
            if sampled is not None and test_type and result:
                tests.append(LabTest(sampled, test_type, result))  # type: ignore[arg-type]
        for entry in certificate.dcc.get("r") or []:
            first_positive = _noon(str(entry.get("fr", "")))
            if first_positive is not None:
                tests.append(LabTest(first_positive, "pcr", "positive"))
    return vaccinations, tests


async def foreign_decision_inputs(
    session: AsyncSession, person_id: uuid.UUID
) -> tuple[list[Vaccination], list[LabTest]]:
    """The status engine's inputs from the person's attached foreign certificates."""
    return decision_inputs(await repository.foreign_of(session, person_id))
