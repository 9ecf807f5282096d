"""Recomputing statuses: after a record, an exposure, a rule change or the passing of time.

Every recomputation of a person runs with that person's ``person_status`` row locked
(``FOR UPDATE``; the sweeper takes it with ``SKIP LOCKED``), so two workers never decide the
same person at once. A change of colour, reasons or validity is written to the history and
published as ``status.changed`` through the outbox, in the caller's transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from lindung_shared import outbox
from lindung_shared.errors import Problem
from lindung_shared.events import Colour, Envelope, make_event
from lindung_shared.events.catalogue import StatusChanged
from sqlalchemy import any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from lindung_health.cases import repository as cases_repository
from lindung_health.cases.service import plan, sync_cases
from lindung_health.certificates.models import ForeignCertificate
from lindung_health.certificates.status import decision_inputs as foreign_inputs
from lindung_health.certificates.status import foreign_decision_inputs
from lindung_health.models import (
    Case,
    Exposure,
    HealthRecord,
    Person,
    PersonStatus,
    StatusHistory,
    SuspectedCase,
)
from lindung_health.screening import repository
from lindung_health.screening.rules import (
    Decision,
    ExposureRecord,
    LabTest,
    Rule,
    RuleParameters,
    Vaccination,
    decide,
)

log = logging.getLogger(__name__)


class NoRuleInForce(Problem):
    status, code, title = 503, "no-rule", "No screening rule in force"


async def rule_in_force(session: AsyncSession, now: datetime) -> Rule:
    found = await repository.rule_at(session, now)
    if found is None:
        raise NoRuleInForce("no screening rule is in force at this moment")
    return Rule(found.id, RuleParameters.model_validate(found.parameters))


def decision_inputs(
    records: Sequence[HealthRecord], exposures: Sequence[Exposure]
) -> tuple[list[Vaccination], list[LabTest], list[ExposureRecord]]:
    # A record cannot describe something after we received it: clamping to the receipt time
    # keeps a clock a few minutes fast elsewhere from hiding a result until nobody recomputes.
    vaccinations = [
        Vaccination(min(r.occurred_at, r.updated_at), r.dose_number)
        for r in records
        if r.kind == "vaccination"
        and not r.retracted
        and r.fhir_status == "completed"
        and r.occurred_at is not None
    ]
    tests = [
        LabTest(min(r.occurred_at, r.updated_at), r.test_type, r.result)  # type: ignore[arg-type]
        for r in records
        if r.kind == "test"
        and not r.retracted
        and r.occurred_at is not None
        and r.test_type in ("pcr", "antigen")
        and r.result in ("positive", "negative")
    ]
    # A confirmed COVID-19 Condition (a diagnosis without a test of ours) isolates like a
    # positive result dated at its onset; a suspected one changes no colour (docs/suspects.md).
    tests += [
        LabTest(min(r.occurred_at, r.updated_at), "pcr", "positive")
        for r in records
        if r.kind == "condition"
        and not r.retracted
        and r.fhir_status == "confirmed"
        and r.occurred_at is not None
    ]
    contacts = [ExposureRecord(min(e.overlap_end, e.received_at)) for e in exposures]
    return vaccinations, tests, contacts


@dataclass(frozen=True)
class RuleContext:
    """The rule in force at a moment and when the next rule starts or ends (looked up once per
    batch of recomputations at the same moment)."""

    rule: Rule
    next_boundary: datetime | None


async def rule_context(session: AsyncSession, now: datetime) -> RuleContext:
    return RuleContext(
        await rule_in_force(session, now), await repository.next_rule_boundary(session, now)
    )


async def recompute(
    session: AsyncSession,
    person: Person,
    now: datetime,
    *,
    sync: bool = True,
    context: RuleContext | None = None,
) -> PersonStatus:
    """Decide ``person``'s status at ``now`` and store it; publishes what changed.

    ``sync`` also re-derives the person's cases from their results (after a record changed).
    """
    current = await repository.lock_status(session, person.id)
    context = context or await rule_context(session, now)
    rule = context.rule
    records = await repository.records_of(session, person.id)
    if sync:
        await sync_cases(session, person.id, records, rule.parameters, now)
    exposures = await repository.active_exposures(session, person.id)
    vaccinations, tests, contacts = decision_inputs(records, exposures)
    # Verified foreign certificates the person attached count like our own records.
    foreign_vaccinations, foreign_tests = await foreign_decision_inputs(session, person.id)
    vaccinations += foreign_vaccinations
    tests += foreign_tests
    decision = decide(
        birth_date=person.birth_date,
        vaccinations=vaccinations,
        tests=tests,
        exposures=contacts,
        rule=rule,
        now=now,
    )
    boundary = context.next_boundary
    due = min((m for m in (decision.valid_until, boundary) if m is not None), default=None)
    values = {
        "person_id": person.id,
        "colour": decision.colour.value,
        "reasons": list(decision.reasons),
        "valid_until": decision.valid_until,
        "due_at": due,
        "rule_version": decision.rule_version,
        "computed_at": now,
    }
    if _changed(current, decision):
        await _publish(session, person.id, current, decision, now)
    await repository.upsert_status(session, values)
    if current is not None:
        for key, value in values.items():  # keep the session's copy in step with the row
            set_committed_value(current, key, value)
        return current
    return PersonStatus(**values)


def _changed(current: PersonStatus | None, decision: Decision) -> bool:
    if current is None:
        return True
    return (
        current.colour != decision.colour.value
        or list(current.reasons) != list(decision.reasons)
        or current.valid_until != decision.valid_until
    )


async def _publish(
    session: AsyncSession,
    person_id: uuid.UUID,
    current: PersonStatus | None,
    decision: Decision,
    now: datetime,
) -> None:
    previous = Colour(current.colour) if current is not None else None
    await repository.add_history(
        session,
        StatusHistory(
            person_id=person_id,
            colour=decision.colour.value,
            previous_colour=previous.value if previous else None,
            reasons=list(decision.reasons),
            valid_until=decision.valid_until,
            rule_version=decision.rule_version,
            changed_at=now,
        ),
    )
    await outbox.add_events(
        session,
        [
            make_event(
                "status.changed",
                StatusChanged(
                    person_id=person_id,
                    colour=decision.colour,
                    previous_colour=previous,
                    reasons=list(decision.reasons),
                    valid_until=decision.valid_until,
                    rule_version=decision.rule_version,
                    changed_at=now,
                ),
            )
        ],
    )
    if previous != decision.colour:
        log.info(
            "status changed",
            extra={
                "person_id": str(person_id),
                "colour": decision.colour.value,
                "previous": previous.value if previous else None,
                "rule_version": decision.rule_version,
            },
        )


async def sweep_due(session: AsyncSession, now: datetime, limit: int) -> int:
    """Recompute up to ``limit`` statuses whose ``due_at`` has passed (in this transaction)."""
    from lindung_health.people import repository as people

    due = await repository.claim_due(session, now, limit)
    context = await rule_context(session, now) if due else None
    for person_id in due:
        person = await people.get(session, person_id)
        if person is not None:
            await recompute(session, person, now, sync=False, context=context)
    return len(due)


#: Rows per multi-row INSERT: PostgreSQL takes at most 32,767 parameters per statement.
ROWS_PER_STATEMENT = 2000

_T = TypeVar("_T")


def _chunks(rows: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


def _any(ids: Sequence[uuid.UUID]) -> Any:
    """``= ANY(:ids)``: one array parameter however many people a batch touches."""
    return any_(bindparam(None, list(ids), type_=ARRAY(PG_UUID(as_uuid=True))))


async def recompute_many(
    session: AsyncSession,
    person_ids: Iterable[uuid.UUID],
    now: datetime,
    *,
    context: RuleContext,
    sync: bool = True,
) -> int:
    """:func:`recompute` for many people in one pass: their statuses locked in one statement
    (in id order, as one-at-a-time recomputations lock them), their records, cases,
    exposures and foreign certificates read in one statement each, every decision made in
    Python, and the new cases, statuses, history rows and events written in one statement
    each. The result is the same as recomputing them one by one."""
    ids = sorted(set(person_ids))
    if not ids:
        return 0
    statuses = {
        s.person_id: s
        for s in (
            await session.execute(
                select(PersonStatus)
                .where(PersonStatus.person_id == _any(ids))
                .order_by(PersonStatus.person_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalars()
    }
    people = {
        p.id: p
        for p in (await session.execute(select(Person).where(Person.id == _any(ids)))).scalars()
    }
    records: dict[uuid.UUID, list[HealthRecord]] = defaultdict(list)
    for r in (
        await session.execute(
            select(HealthRecord)
            .where(HealthRecord.person_id == _any(ids))
            .order_by(HealthRecord.occurred_at)
            # The stored FHIR copy is not part of a decision: not fetched nor decoded.
            .options(defer(HealthRecord.resource))
            .execution_options(populate_existing=True)
        )
    ).scalars():
        assert r.person_id is not None
        records[r.person_id].append(r)
    active_cases: dict[uuid.UUID, list[Case]] = defaultdict(list)
    if sync:
        for c in (
            await session.execute(
                select(Case)
                .where(Case.person_id == _any(ids), Case.retracted_at.is_(None))
                .execution_options(populate_existing=True)
            )
        ).scalars():
            active_cases[c.person_id].append(c)
    open_suspects: dict[uuid.UUID, list[SuspectedCase]] = defaultdict(list)
    if sync:
        for suspect in await cases_repository.open_suspects(session, ids):
            open_suspects[suspect.person_id].append(suspect)
    exposures: dict[uuid.UUID, list[Exposure]] = defaultdict(list)
    for e in (
        await session.execute(
            select(Exposure)
            .where(Exposure.person_id == _any(ids), Exposure.retracted_at.is_(None))
            .execution_options(populate_existing=True)
        )
    ).scalars():
        exposures[e.person_id].append(e)
    foreign: dict[uuid.UUID, list[ForeignCertificate]] = defaultdict(list)
    for f in (
        await session.execute(
            select(ForeignCertificate)
            .where(ForeignCertificate.person_id == _any(ids))
            .order_by(ForeignCertificate.attached_at, ForeignCertificate.id)
        )
    ).scalars():
        foreign[f.person_id].append(f)

    rule = context.rule
    new_cases: list[Case] = []
    new_suspects: list[SuspectedCase] = []
    events: list[Envelope[Any]] = []
    status_rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for person_id in ids:
        person = people.get(person_id)
        if person is None:
            continue
        mine = records.get(person_id, [])
        if sync:
            found = plan(
                person_id,
                mine,
                active_cases.get(person_id, []),
                open_suspects.get(person_id, []),
                rule.parameters,
                now,
            )
            new_cases += found.new
            new_suspects += found.flagged
            events += found.events
        vaccinations, tests, contacts = decision_inputs(mine, exposures.get(person_id, []))
        foreign_vaccinations, foreign_tests = foreign_inputs(foreign.get(person_id, []))
        decision = decide(
            birth_date=person.birth_date,
            vaccinations=vaccinations + foreign_vaccinations,
            tests=tests + foreign_tests,
            exposures=contacts,
            rule=rule,
            now=now,
        )
        boundary = context.next_boundary
        due = min((m for m in (decision.valid_until, boundary) if m is not None), default=None)
        status_rows.append(
            {
                "person_id": person_id,
                "colour": decision.colour.value,
                "reasons": list(decision.reasons),
                "valid_until": decision.valid_until,
                "due_at": due,
                "rule_version": decision.rule_version,
                "computed_at": now,
            }
        )
        current = statuses.get(person_id)
        if _changed(current, decision):
            previous = Colour(current.colour) if current is not None else None
            history.append(
                {
                    "person_id": person_id,
                    "colour": decision.colour.value,
                    "previous_colour": previous.value if previous else None,
                    "reasons": list(decision.reasons),
                    "valid_until": decision.valid_until,
                    "rule_version": decision.rule_version,
                    "changed_at": now,
                }
            )
            events.append(
                make_event(
                    "status.changed",
                    StatusChanged(
                        person_id=person_id,
                        colour=decision.colour,
                        previous_colour=previous,
                        reasons=list(decision.reasons),
                        valid_until=decision.valid_until,
                        rule_version=decision.rule_version,
                        changed_at=now,
                    ),
                )
            )
    await session.flush()  # the retired cases' retracted_at, the resolved suspicions' state
    # One Core statement compiled once and run with every row's parameters (SQLAlchemy's
    # "insertmanyvalues": multi-row INSERTs of up to 1,000 rows each; Core, as the ORM's bulk
    # insert splits the rows by which values are None); building
    # ``insert().values(rows)`` instead compiles a statement with a parameter per value, which
    # cost more CPU than everything else of a recomputation.
    for cases in _chunks(new_cases):
        await session.execute(
            insert(Case.__table__),  # type: ignore[arg-type]
            [
                {
                    "id": c.id,
                    "case_ref": c.case_ref,
                    "person_id": c.person_id,
                    "record_id": c.record_id,
                    "sample_taken_at": c.sample_taken_at,
                    "infectious_from": c.infectious_from,
                    "infectious_until": c.infectious_until,
                    "confirmed_at": c.confirmed_at,
                }
                for c in cases
            ],
        )
    for suspects in _chunks(new_suspects):
        await session.execute(
            insert(SuspectedCase.__table__),  # type: ignore[arg-type]
            [
                {
                    "id": s.id,
                    "suspect_ref": s.suspect_ref,
                    "person_id": s.person_id,
                    "record_id": s.record_id,
                    "suspected_at": s.suspected_at,
                    "traced_from": s.traced_from,
                    "traced_until": s.traced_until,
                    "flagged_at": s.flagged_at,
                    "state": s.state,
                }
                for s in suspects
            ],
        )
    for rows in _chunks(status_rows):
        stmt = insert(PersonStatus.__table__)  # type: ignore[arg-type]
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["person_id"],
                set_={k: stmt.excluded[k] for k in rows[0] if k != "person_id"},
            ),
            list(rows),
        )
    for rows in _chunks(history):
        await session.execute(
            insert(StatusHistory.__table__),  # type: ignore[arg-type]
            list(rows),
        )
    await outbox.add_events(session, events)
    return len(status_rows)
