"""Confirmed and suspected cases, derived from the person's records.

Cases: one per positive result (a positive test, or a COVID-19 Condition whose verification
status is ``confirmed``). A new positive publishes ``case.confirmed``; a retracted (or
corrected to negative, or re-dated) result publishes ``case.retracted`` for the case it had
made.

Suspected cases (PDP, docs/suspects.md): one per provisional COVID-19 Condition, published as
``suspect.flagged``. A suspicion ends confirmed when its Condition turns ``confirmed`` or a
positive result sampled in its traced window makes a case (that ``case.confirmed`` names it),
or ruled out (``suspect.ruled_out``) when the Condition is refuted, entered in error or
re-dated (a re-dated one is flagged again at its new date). A suspicion inside the traced
window of a live case is not flagged: the person is traced as a case already.
"""

from __future__ import annotations

import base64
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lindung_shared import outbox
from lindung_shared.events import Envelope, make_event
from lindung_shared.events.catalogue import (
    CaseConfirmedV2,
    CaseRetracted,
    SuspectFlagged,
    SuspectRuledOut,
)
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.cases import repository
from lindung_health.feeds.codes import SUSPECTED
from lindung_health.models import Case, HealthRecord, SuspectedCase
from lindung_health.screening.rules import RuleParameters

log = logging.getLogger(__name__)


def new_case_ref() -> str:
    """A pseudonymous reference, safe to show to contacts: "C-" and 8 base32 characters."""
    return "C-" + base64.b32encode(os.urandom(5)).decode()


def new_suspect_ref() -> str:
    """A suspected case's pseudonymous reference: "S-" and 8 base32 characters."""
    return "S-" + base64.b32encode(os.urandom(5)).decode()


def is_positive(record: HealthRecord) -> bool:
    """A result that makes a confirmed case: a positive test, or a confirmed COVID-19
    Condition (a diagnosis)."""
    if record.retracted or record.occurred_at is None:
        return False
    if record.kind == "test":
        return record.result == "positive"
    return record.kind == "condition" and record.fhir_status == "confirmed"


def is_suspicion(record: HealthRecord) -> bool:
    return (
        record.kind == "condition"
        and record.fhir_status in SUSPECTED
        and not record.retracted
        and record.occurred_at is not None
    )


@dataclass
class CasePlan:
    """What a person's records mean for their cases and suspicions: the rows to change and
    add, and the events in order (case.retracted, suspect.ruled_out, suspect.flagged,
    case.confirmed)."""

    retired: list[Case] = field(default_factory=list)
    new: list[Case] = field(default_factory=list)
    flagged: list[SuspectedCase] = field(default_factory=list)
    resolved: list[SuspectedCase] = field(default_factory=list)
    events: list[Envelope[Any]] = field(default_factory=list)


def plan_cases(
    person_id: uuid.UUID,
    records: Sequence[HealthRecord],
    active: Sequence[Case],
    parameters: RuleParameters,
    now: datetime,
) -> tuple[list[Case], list[Case], list[Envelope[Any]]]:
    """:func:`plan` without suspicions: (retired, new, events)."""
    found = plan(person_id, records, active, (), parameters, now)
    return found.retired, found.new, found.events


def plan(
    person_id: uuid.UUID,
    records: Sequence[HealthRecord],
    active: Sequence[Case],
    open_suspects: Sequence[SuspectedCase],
    parameters: RuleParameters,
    now: datetime,
) -> CasePlan:
    """Pure: which of ``active`` cases end (their result was retracted, turned negative or
    re-dated), which new cases the person's positive results make, which open suspicions
    are confirmed or ruled out and which new ones the provisional Conditions make. The
    retired cases and resolved suspicions come back changed (``retracted_at``, ``state``)."""
    out = CasePlan()
    positives = {r.id: r for r in records if is_positive(r)}
    covered: set[uuid.UUID] = set()
    for case in active:
        record = positives.get(case.record_id)
        if record is not None and record.occurred_at == case.sample_taken_at:
            covered.add(record.id)
            continue
        case.retracted_at = now
        out.retired.append(case)
        out.events.append(
            make_event(
                "case.retracted",
                CaseRetracted(
                    case_id=case.id, case_ref=case.case_ref, person_id=person_id, retracted_at=now
                ),
            )
        )
        log.info("case retracted", extra={"case_ref": case.case_ref})
    for record in positives.values():
        if record.id in covered:
            continue
        assert record.occurred_at is not None
        sample = record.occurred_at
        out.new.append(
            Case(
                id=uuid.uuid4(),
                case_ref=new_case_ref(),
                person_id=person_id,
                record_id=record.id,
                sample_taken_at=sample,
                infectious_from=sample - timedelta(days=parameters.traced_days_before_sample()),
                infectious_until=sample + timedelta(days=parameters.infectious_days_after_sample),
                confirmed_at=now,
            )
        )

    confirms: dict[uuid.UUID, SuspectedCase] = {}  # case id -> the suspicion it confirms
    by_id = {r.id: r for r in records}
    still_open: list[SuspectedCase] = []
    for suspect in sorted(open_suspects, key=lambda s: (s.suspected_at, s.id)):
        record = by_id.get(suspect.record_id)
        if record is not None and is_suspicion(record):
            if record.occurred_at == suspect.suspected_at:
                still_open.append(suspect)
                continue
        elif record is not None and is_positive(record):
            made = next((c for c in out.new if c.record_id == record.id), None)
            if made is not None and made.id not in confirms:
                _confirm(suspect, made, now, out, confirms)
                continue
        refuted = record is not None and not record.retracted and record.fhir_status == "refuted"
        _rule_out(suspect, "refuted" if refuted else "withdrawn", person_id, now, out)
    # A positive result sampled in an open suspicion's traced window confirms it.
    for suspect in list(still_open):
        confirming = min(
            (
                c
                for c in out.new
                if c.id not in confirms and suspect.traced_from <= c.sample_taken_at
            ),
            key=lambda c: (c.sample_taken_at, c.id),
            default=None,
        )
        if confirming is not None:
            still_open.remove(suspect)
            _confirm(suspect, confirming, now, out, confirms)

    live = [c for c in active if c not in out.retired] + out.new
    suspected = {s.record_id for s in still_open}
    for record in sorted(records, key=lambda r: (r.occurred_at or now, r.id)):
        if not is_suspicion(record) or record.id in suspected:
            continue
        moment = record.occurred_at
        assert moment is not None
        if any(c.infectious_from <= moment <= c.infectious_until for c in live):
            continue  # traced as a case already
        suspect = SuspectedCase(
            id=uuid.uuid4(),
            suspect_ref=new_suspect_ref(),
            person_id=person_id,
            record_id=record.id,
            suspected_at=moment,
            traced_from=moment - timedelta(days=parameters.traced_days_before_sample()),
            traced_until=moment + timedelta(days=parameters.infectious_days_after_sample),
            flagged_at=now,
            state="suspected",
        )
        out.flagged.append(suspect)
        out.events.append(
            make_event(
                "suspect.flagged",
                SuspectFlagged(
                    suspect_id=suspect.id,
                    suspect_ref=suspect.suspect_ref,
                    person_id=person_id,
                    suspected_at=moment,
                    traced_from=suspect.traced_from,
                    traced_until=suspect.traced_until,
                ),
            )
        )
        log.info("suspected case flagged", extra={"suspect_ref": suspect.suspect_ref})

    for case in out.new:
        confirmed = confirms.get(case.id)
        out.events.append(
            make_event(
                "case.confirmed",
                CaseConfirmedV2(
                    case_id=case.id,
                    case_ref=case.case_ref,
                    person_id=person_id,
                    sample_taken_at=case.sample_taken_at,
                    infectious_from=case.infectious_from,
                    infectious_until=case.infectious_until,
                    suspect_id=confirmed.id if confirmed else None,
                    suspect_ref=confirmed.suspect_ref if confirmed else None,
                ),
            )
        )
        log.info("case confirmed", extra={"case_ref": case.case_ref})
    return out


def _confirm(
    suspect: SuspectedCase,
    case: Case,
    now: datetime,
    out: CasePlan,
    confirms: dict[uuid.UUID, SuspectedCase],
) -> None:
    suspect.state, suspect.case_id = "confirmed", case.id
    suspect.resolved_at, suspect.resolution = now, "confirmed"
    confirms[case.id] = suspect
    out.resolved.append(suspect)
    log.info(
        "suspected case confirmed",
        extra={"suspect_ref": suspect.suspect_ref, "case_ref": case.case_ref},
    )


def _rule_out(
    suspect: SuspectedCase, reason: str, person_id: uuid.UUID, now: datetime, out: CasePlan
) -> None:
    suspect.state, suspect.resolved_at, suspect.resolution = "ruled_out", now, reason
    out.resolved.append(suspect)
    out.events.append(
        make_event(
            "suspect.ruled_out",
            SuspectRuledOut(
                suspect_id=suspect.id,
                suspect_ref=suspect.suspect_ref,
                person_id=person_id,
                reason="refuted" if reason == "refuted" else "withdrawn",
                ruled_out_at=now,
            ),
        )
    )
    log.info("suspected case ruled out", extra={"suspect_ref": suspect.suspect_ref})


async def sync_cases(
    session: AsyncSession,
    person_id: uuid.UUID,
    records: Sequence[HealthRecord],
    parameters: RuleParameters,
    now: datetime,
) -> None:
    active = await repository.active_cases(session, person_id)
    suspects = await repository.open_suspects(session, [person_id])
    found = plan(person_id, records, active, suspects, parameters, now)
    events = found.events
    # A record that moved here from another person (a corrected NIK) may still hold that
    # person's active case until they are recomputed: it ends now (one active case per record).
    for moved in await repository.active_cases_of_records(
        session, [c.record_id for c in found.new], other_than=person_id
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
    # Likewise an open suspicion of a Condition that moved here: withdrawn from the other
    # person first (one open suspicion per record).
    for moved_suspect in await repository.open_suspects_of_records(
        session, [s.record_id for s in found.flagged], other_than=person_id
    ):
        _rule_out(moved_suspect, "withdrawn", moved_suspect.person_id, now, found)
        events.insert(0, found.events.pop())
    await session.flush()
    for case in found.new:
        await repository.add(session, case)
    for suspect in found.flagged:
        session.add(suspect)
    await session.flush()
    await outbox.add_events(session, events)
