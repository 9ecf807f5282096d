"""Confirmed cases, derived from positive results: one case per positive record. A new
positive publishes ``case.confirmed``; a retracted (or corrected to negative, or re-dated)
result publishes ``case.retracted`` for the case it had made."""

from __future__ import annotations

import base64
import logging
import os
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from lindung_shared import outbox
from lindung_shared.events import Envelope, make_event
from lindung_shared.events.catalogue import CaseConfirmed, CaseRetracted
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.cases import repository
from lindung_health.models import Case, HealthRecord
from lindung_health.screening.rules import RuleParameters

log = logging.getLogger(__name__)


def new_case_ref() -> str:
    """A pseudonymous reference, safe to show to contacts: "C-" and 8 base32 characters."""
    return "C-" + base64.b32encode(os.urandom(5)).decode()


def is_positive(record: HealthRecord) -> bool:
    return (
        record.kind == "test"
        and record.result == "positive"
        and not record.retracted
        and record.occurred_at is not None
    )


def plan_cases(
    person_id: uuid.UUID,
    records: Sequence[HealthRecord],
    active: Sequence[Case],
    parameters: RuleParameters,
    now: datetime,
) -> tuple[list[Case], list[Case], list[Envelope[Any]]]:
    """Pure: which of ``active`` cases end (their result was retracted, turned negative or
    re-dated) and which new cases the person's positive results make, with their events in
    order (retractions first). The retired cases come back with ``retracted_at`` set."""
    positives = {r.id: r for r in records if is_positive(r)}
    events: list[Envelope[Any]] = []
    covered: set[uuid.UUID] = set()
    retired: list[Case] = []
    for case in active:
        record = positives.get(case.record_id)
        if record is not None and record.occurred_at == case.sample_taken_at:
            covered.add(record.id)
            continue
        case.retracted_at = now
        retired.append(case)
        events.append(
            make_event(
                "case.retracted",
                CaseRetracted(
                    case_id=case.id, case_ref=case.case_ref, person_id=person_id, retracted_at=now
                ),
            )
        )
        log.info("case retracted", extra={"case_ref": case.case_ref})
    new: list[Case] = []
    for record in positives.values():
        if record.id in covered:
            continue
        assert record.occurred_at is not None
        sample = record.occurred_at
        case = Case(
            id=uuid.uuid4(),
            case_ref=new_case_ref(),
            person_id=person_id,
            record_id=record.id,
            sample_taken_at=sample,
            infectious_from=sample - timedelta(days=parameters.traced_days_before_sample()),
            infectious_until=sample + timedelta(days=parameters.infectious_days_after_sample),
            confirmed_at=now,
        )
        new.append(case)
        events.append(
            make_event(
                "case.confirmed",
                CaseConfirmed(
                    case_id=case.id,
                    case_ref=case.case_ref,
                    person_id=person_id,
                    sample_taken_at=case.sample_taken_at,
                    infectious_from=case.infectious_from,
                    infectious_until=case.infectious_until,
                ),
            )
        )
        log.info("case confirmed", extra={"case_ref": case.case_ref})
    return retired, new, events


async def sync_cases(
    session: AsyncSession,
    person_id: uuid.UUID,
    records: Sequence[HealthRecord],
    parameters: RuleParameters,
    now: datetime,
) -> None:
    active = await repository.active_cases(session, person_id)
    _, new, events = plan_cases(person_id, records, active, parameters, now)
    # A record that moved here from another person (a corrected NIK) may still hold that
    # person's active case until they are recomputed: it ends now (one active case per record).
    for moved in await repository.active_cases_of_records(
        session, [c.record_id for c in new], other_than=person_id
    ):
        moved.retracted_at = now
        events.insert(
            0,
            make_event(
                "case.retracted",
                CaseRetracted(
                    case_id=moved.id,
                    case_ref=moved.case_ref,
                    person_id=moved.person_id,
                    retracted_at=now,
                ),
            ),
        )
    await session.flush()
    for case in new:
        await repository.add(session, case)
    await outbox.add_events(session, events)
