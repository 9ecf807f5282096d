"""Taking records from the national feeds: one code path for Kafka and HTTP.

A submission (one resource or a Bundle) is split into records; each is validated, then
stored idempotently by its source identifier: a record seen before is a duplicate unless it
is a later version (``meta.versionId``, else ``meta.lastUpdated``, else different content),
which replaces it; ``entered-in-error`` retracts it. What is stored of a record is its
de-identified copy (``feeds.deidentify``). Records for a NIK nobody registered yet are kept
under the NIK's keyed hash and linked at registration. Afterwards each affected
person's cases and status are recomputed once, in the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.feeds import repository
from lindung_health.feeds.batch import Item, store_many
from lindung_health.feeds.deidentify import deidentify
from lindung_health.feeds.fhir import Ignored, ParsedRecord, Rejected, parse_record, split
from lindung_health.models import HealthRecord
from lindung_health.people import repository as people
from lindung_health.screening.service import recompute, recompute_many, rule_context
from lindung_health.toolkit import Toolkit

log = logging.getLogger(__name__)

Result = Literal["accepted", "duplicate", "rejected", "ignored"]
Action = Literal["created", "replaced", "retracted"]


@dataclass(frozen=True)
class EntryOutcome:
    index: int
    result: Result
    resource_type: str | None = None
    source_key: str | None = None
    record_id: uuid.UUID | None = None
    action: Action | None = None
    reason: str | None = None
    message: str | None = None


def entries_of(resource: Any) -> list[dict[str, Any] | None]:
    """The entries' resources as received (None where an entry holds no object)."""
    return [e if isinstance(e, dict) else None for e in split(resource).entries]


@dataclass(frozen=True)
class IngestResult:
    outcomes: list[EntryOutcome]
    #: A transaction Bundle with a rejected entry: nothing was applied.
    failed_transaction: bool = False
    bundle_type: str | None = None

    @property
    def rejected(self) -> list[EntryOutcome]:
        return [o for o in self.outcomes if o.result == "rejected"]


async def ingest(
    session: AsyncSession, tk: Toolkit, resource: Any, source: str, now: datetime
) -> list[EntryOutcome]:
    """Validate and store every record of ``resource``; returns one outcome per entry.
    Rejected records write nothing (in a transaction Bundle, one rejected entry means nothing
    is written: see :func:`ingest_submission`)."""
    return (await ingest_submission(session, tk, resource, source, now)).outcomes


async def ingest_submission(
    session: AsyncSession,
    tk: Toolkit,
    resource: Any,
    source: str,
    now: datetime,
    *,
    one_at_a_time: bool = False,
) -> IngestResult:
    """Every entry validated first, then the good ones stored: in batch, collection and
    document Bundles each bad entry rejects only itself; a transaction Bundle with a bad entry
    stores nothing. Patient, Composition, Organization... entries are ``ignored`` (a Patient
    lends its NIK to the records that reference it).

    The records are stored with set-based SQL (:mod:`.batch`) and the affected people
    recomputed in one pass; ``one_at_a_time`` takes the record-by-record path instead (the
    reference the property test compares the batch path with)."""
    # Validation is CPU work (fhir.resources): in a thread, so the event loop (other
    # requests, Kafka heartbeats) keeps turning meanwhile.
    parsed = await asyncio.to_thread(parse_submission, tk, resource, now)
    outcomes = parsed.outcomes
    affected: set[uuid.UUID] = set()
    if one_at_a_time:
        for index, record in parsed.records:
            outcome, persons = await _store(session, tk, index, record, source, now)
            outcomes[index] = outcome
            affected |= persons
    else:
        stored, affected = await store_many(
            session, tk, [Item(index, record, source) for index, record in parsed.records], now
        )
        outcomes.update(stored)
    if affected:
        context = await rule_context(session, now)
        if one_at_a_time:
            for person_id in sorted(affected):
                person = await people.get(session, person_id)
                if person is not None:
                    await recompute(session, person, now, context=context)
        else:
            await recompute_many(session, affected, now, context=context)
    return parsed.result(source)


@dataclass
class ParsedSubmission:
    """A submission validated entry by entry, before anything is stored."""

    bundle_type: str | None
    outcomes: dict[int, EntryOutcome]
    records: list[tuple[int, ParsedRecord]]
    failed: bool

    def result(self, source: str) -> IngestResult:
        ordered = [self.outcomes[i] for i in sorted(self.outcomes)]
        counts = {
            r: sum(1 for o in ordered if o.result == r)
            for r in ("accepted", "duplicate", "rejected", "ignored")
        }
        log.info("feed submission handled", extra={"source": source, **counts})
        return IngestResult(ordered, failed_transaction=self.failed, bundle_type=self.bundle_type)


def parse_submission(
    tk: Toolkit, resource: Any, now: datetime, *, full: bool = False
) -> ParsedSubmission:
    """Validate every entry (no I/O): the rejected and ignored ones get their outcome, the
    records wait to be stored; a transaction Bundle with a rejected entry stores nothing.
    ``full``: validated by ``fhir.resources`` instead of the lean models (:mod:`.lean`)."""
    submission = split(resource)
    outcomes: dict[int, EntryOutcome] = {}
    records: list[tuple[int, ParsedRecord]] = []
    for index, item in enumerate(submission.entries):
        try:
            if isinstance(item, Rejected):
                raise item
            parsed = parse_record(item, tk.regions, now, submission, index, full=full)
        except Rejected as rejected:
            outcomes[index] = EntryOutcome(
                index,
                "rejected",
                resource_type=rejected.resource_type,
                reason=rejected.reason,
                message=rejected.message,
            )
            continue
        if isinstance(parsed, Ignored):
            outcomes[index] = EntryOutcome(
                index, "ignored", resource_type=parsed.resource_type, message=parsed.message
            )
            continue
        records.append((index, parsed))
    failed = submission.atomic and any(o.result == "rejected" for o in outcomes.values())
    if failed:
        for index, parsed in records:
            outcomes[index] = EntryOutcome(
                index,
                "rejected",
                resource_type=parsed.resource_type,
                source_key=parsed.source_key,
                reason="transaction-failed",
                message="not applied: another entry of this transaction Bundle was rejected",
            )
        records = []
    return ParsedSubmission(submission.bundle_type, outcomes, records, failed)


async def ingest_many(
    session: AsyncSession,
    tk: Toolkit,
    submissions: list[tuple[Any, str]],
    now: datetime,
) -> list[IngestResult]:
    """Several submissions (resource, source) applied as ONE batch: all their records stored
    with set-based SQL, in order, and every affected person recomputed once. The same result
    as :func:`ingest_submission` on each in turn (the Kafka consumer's path)."""
    parsed = await asyncio.to_thread(
        lambda: [parse_submission(tk, resource, now) for resource, _ in submissions]
    )
    items: list[Item] = []
    owner: dict[int, tuple[int, int]] = {}
    for n, (p, (_, source)) in enumerate(zip(parsed, submissions, strict=True)):
        for index, record in p.records:
            owner[len(items)] = (n, index)
            items.append(Item(len(items), record, source))
    stored, affected = await store_many(session, tk, items, now)
    for position, outcome in stored.items():
        n, index = owner[position]
        parsed[n].outcomes[index] = replace(outcome, index=index)
    if affected:
        await recompute_many(session, affected, now, context=await rule_context(session, now))
    return [p.result(source) for p, (_, source) in zip(parsed, submissions, strict=True)]


def _values(
    parsed: ParsedRecord, nik_hash: bytes, person_id: uuid.UUID | None, source: str, now: datetime
) -> dict[str, Any]:
    return {
        "source": source,
        "resource_type": parsed.resource_type,
        "kind": parsed.kind,
        "nik_hash": nik_hash,
        "person_id": person_id,
        "fhir_status": parsed.fhir_status,
        "retracted": parsed.retracted,
        "version_id": parsed.version_id,
        "last_updated": parsed.last_updated,
        "occurred_at": parsed.occurred_at,
        "vaccine_system": parsed.vaccine_system,
        "vaccine_code": parsed.vaccine_code,
        "dose_number": parsed.dose_number,
        "test_type": parsed.test_type,
        "loinc_code": parsed.loinc_code,
        "result": parsed.result,
        # Stored without the person: the NIK's hash and the person id link it.
        "resource": deidentify(parsed.resource),
        "updated_at": now,
    }


async def _store(
    session: AsyncSession,
    tk: Toolkit,
    index: int,
    parsed: ParsedRecord,
    source: str,
    now: datetime,
) -> tuple[EntryOutcome, set[uuid.UUID]]:
    nik_hash = tk.protector.hash(parsed.nik)
    person = await people.by_nik_hash(session, nik_hash)
    person_id = person.id if person is not None else None
    values = _values(parsed, nik_hash, person_id, source, now)
    rt, key = parsed.resource_type, parsed.source_key

    existing = await repository.lock_by_source_key(session, parsed.source_key)
    if existing is None:
        new_id = await repository.insert_if_new(
            session,
            {**values, "id": uuid.uuid4(), "source_key": parsed.source_key, "received_at": now},
        )
        if new_id is not None:
            action: Action = "retracted" if parsed.retracted else "created"
            outcome = EntryOutcome(
                index, "accepted", record_id=new_id, action=action, resource_type=rt, source_key=key
            )
            return outcome, {person_id} if person_id else set()
        existing = await repository.lock_by_source_key(session, parsed.source_key)
        assert existing is not None

    if not is_newer(parsed, existing):
        return (
            EntryOutcome(
                index,
                "duplicate",
                record_id=existing.id,
                reason="duplicate",
                message="this version of the record (or a newer one) is already stored",
                resource_type=rt,
                source_key=key,
            ),
            set(),
        )
    await repository.replace(session, existing.id, values)
    affected = {p for p in (existing.person_id, person_id) if p is not None}
    action = "retracted" if parsed.retracted else "replaced"
    return EntryOutcome(
        index, "accepted", record_id=existing.id, action=action, resource_type=rt, source_key=key
    ), affected


class StoredVersion(Protocol):
    version_id: str | None
    last_updated: datetime | None
    resource: dict[str, Any]


def is_newer(parsed: ParsedRecord, stored: StoredVersion | HealthRecord) -> bool:
    """Whether ``parsed`` supersedes the stored version of the same record."""
    pv, sv = parsed.version_id, stored.version_id
    if pv and sv and pv.isdigit() and sv.isdigit():
        return int(pv) > int(sv)
    if parsed.last_updated is not None and stored.last_updated is not None:
        return parsed.last_updated > stored.last_updated
    if deidentify(parsed.resource) == stored.resource:
        return False
    # Unversioned and different: the later arrival is the correction.
    return not (pv and pv == sv)
