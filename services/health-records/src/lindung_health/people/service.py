"""Registering people, their contact details, their status and records, officer look-ups."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from lindung_shared import outbox
from lindung_shared.errors import Conflict, NotFound, Unprocessable
from lindung_shared.events import Envelope, Language, make_event
from lindung_shared.events.catalogue import PersonContactChanged
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.audit import repository as audit
from lindung_health.cases import repository as cases
from lindung_health.models import Person, PersonStatus
from lindung_health.people import repository
from lindung_health.people.nik import InvalidNik, parse_nik
from lindung_health.people.phone import InvalidPhone, normalise_phone
from lindung_health.people.schemas import (
    CaseOut,
    ContactUpdate,
    LookupOut,
    RecordsOut,
    RegisterPerson,
    StatusOut,
    TestOut,
    VaccinationOut,
)
from lindung_health.screening import repository as screening
from lindung_health.screening.rules import JAKARTA
from lindung_health.screening.service import recompute
from lindung_health.toolkit import Toolkit

log = logging.getLogger(__name__)


def _phone(raw: str) -> str:
    try:
        return normalise_phone(raw)
    except InvalidPhone as exc:
        raise Unprocessable(str(exc), code="invalid-phone") from None


async def register(
    session: AsyncSession, tk: Toolkit, request: RegisterPerson, now: datetime
) -> tuple[Person, bool]:
    """Register a citizen; the same NIK (with the same phone) returns the same person."""
    today = now.astimezone(JAKARTA).date()
    try:
        info = parse_nik(request.nik, tk.regions, today=today)
    except InvalidNik as exc:
        raise Unprocessable(str(exc), code=exc.reason) from None
    if request.birth_date > today:
        raise Unprocessable("the birth date is in the future", code="birth-date-future")
    if not info.agrees_with(request.birth_date):
        raise Unprocessable(
            "the birth date does not agree with the NIK (digits 7-12: DDMMYY, day + 40 for women)",
            code="nik-birth-date-mismatch",
        )
    phone = _phone(request.phone)
    nik_hash = tk.protector.hash(request.nik)

    existing = await repository.by_nik_hash(session, nik_hash)
    if existing is None:
        new_id = await repository.insert_if_new(
            session,
            {
                "id": uuid.uuid4(),
                "nik_hash": nik_hash,
                "nik_ciphertext": tk.protector.encrypt(request.nik),
                "name": request.name.strip(),
                "birth_date": request.birth_date,
                "sex": info.sex,
                "regency_code": info.regency_code,
                "phone_e164": phone,
                "language": request.language.value,
                "created_at": now,
                "updated_at": now,
            },
        )
        if new_id is not None:
            person = await repository.get(session, new_id)
            assert person is not None
            linked = await repository.link_records(session, person.id, nik_hash)
            await outbox.add_events(session, [_contact_event(person)])
            await recompute(session, person, now)
            log.info("person registered", extra={"person_id": str(person.id), "linked": linked})
            return person, True
        existing = await repository.by_nik_hash(session, nik_hash)
        assert existing is not None
    if existing.phone_e164 != phone:
        # Not silently re-pointed: whoever controls the phone controls the account.
        raise Conflict(
            "this NIK is already registered with another phone number; sign in with that "
            "number and change it, or ask a health officer",
            code="nik-registered-other-phone",
        )
    return existing, False


def _contact_event(person: Person) -> Envelope[Any]:
    return make_event(
        "person.contact_changed",
        PersonContactChanged(
            person_id=person.id,
            phone_e164=person.phone_e164,
            language=Language(person.language),
        ),
    )


async def person_of(session: AsyncSession, subject: str) -> Person:
    try:
        person_id = uuid.UUID(subject)
    except ValueError:
        raise NotFound("no person is registered for this token") from None
    person = await repository.get(session, person_id)
    if person is None:
        raise NotFound("no person is registered for this token")
    return person


async def update_contact(
    session: AsyncSession, person: Person, update: ContactUpdate, now: datetime
) -> Person:
    changed = False
    if update.phone is not None:
        phone = _phone(update.phone)
        if phone != person.phone_e164:
            person.phone_e164, changed = phone, True
    if update.language is not None and update.language.value != person.language:
        person.language, changed = update.language.value, True
    if changed:
        person.updated_at = now
        await session.flush()
        await outbox.add_events(session, [_contact_event(person)])
        log.info("contact details changed", extra={"person_id": str(person.id)})
    return person


async def status_of(session: AsyncSession, person: Person, now: datetime) -> PersonStatus:
    """The stored status, recomputed first if it is due (the sweeper may lag behind)."""
    status = await screening.get_status(session, person.id)
    if status is None or (status.due_at is not None and status.due_at <= now):
        status = await recompute(session, person, now, sync=False)
    return status


def status_out(status: PersonStatus) -> StatusOut:
    return StatusOut(
        person_id=status.person_id,
        colour=status.colour,  # type: ignore[arg-type]
        reasons=list(status.reasons),
        valid_until=status.valid_until,
        rule_version=status.rule_version,
        computed_at=status.computed_at,
    )


async def records_of(session: AsyncSession, person: Person) -> RecordsOut:
    records = await screening.records_of(session, person.id)
    found_cases = await cases.cases_of(session, person.id)
    return RecordsOut(
        vaccinations=[
            VaccinationOut(
                record_id=r.id,
                administered_at=r.occurred_at,
                vaccine_system=r.vaccine_system,
                vaccine_code=r.vaccine_code,
                dose_number=r.dose_number,
                status=r.fhir_status,
                retracted=r.retracted,
            )
            for r in records
            if r.kind == "vaccination"
        ],
        tests=[
            TestOut(
                record_id=r.id,
                sampled_at=r.occurred_at,
                test_type=r.test_type,  # type: ignore[arg-type]
                loinc_code=r.loinc_code,
                result=r.result,  # type: ignore[arg-type]
                status=r.fhir_status,
                retracted=r.retracted,
            )
            for r in records
            if r.kind == "test"
        ],
        cases=[
            CaseOut(
                case_ref=c.case_ref,
                sample_taken_at=c.sample_taken_at,
                infectious_from=c.infectious_from,
                infectious_until=c.infectious_until,
                retracted=c.retracted_at is not None,
            )
            for c in found_cases
        ],
    )


async def officer_lookup(
    session: AsyncSession, tk: Toolkit, officer_id: str, nik: str, purpose: str, now: datetime
) -> LookupOut:
    """An officer reads a person by NIK; the read is written to the audit log first."""
    if not nik.isdigit():
        raise Unprocessable("the NIK must be 16 digits", code="nik-format")
    person = await repository.by_nik_hash(session, tk.protector.hash(nik))
    if person is None:
        raise NotFound("no person is registered with this NIK")
    await audit.append(
        session,
        officer_id=officer_id,
        person_id=person.id,
        action="person.lookup",
        purpose=purpose,
        at=now,
    )
    status = await status_of(session, person, now)
    return LookupOut(
        person_id=person.id,
        nik=tk.protector.decrypt(person.nik_ciphertext),
        name=person.name,
        birth_date=person.birth_date,
        sex=person.sex,  # type: ignore[arg-type]
        phone=person.phone_e164,
        status=status_out(status),
        records=await records_of(session, person),
    )
