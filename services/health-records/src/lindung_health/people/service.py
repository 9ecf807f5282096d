"""Registering people, their contact details, their status and records, officer look-ups."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from lindung_shared import outbox
from lindung_shared.auth import Principal, ensure_covers
from lindung_shared.errors import Conflict, NotFound, Unprocessable
from lindung_shared.events import Envelope, Language, make_event
from lindung_shared.events.catalogue import PersonContactChangedV2
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.audit import repository as audit
from lindung_health.cases import repository as cases
from lindung_health.models import Person, PersonStatus
from lindung_health.people import repository
from lindung_health.people.civil_registry import CivilRegistry
from lindung_health.people.contact import (
    has_phone,
    name_of,
    phone_of,
    sealed_columns,
    set_name,
    set_phone,
)
from lindung_health.people.nik import InvalidNik, parse_nik
from lindung_health.people.phone import InvalidPhone, normalise_phone
from lindung_health.people.schemas import (
    CaseOut,
    ContactUpdate,
    LookupOut,
    RecordsOut,
    RegisterPerson,
    StatusOut,
    SuspectOut,
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


class IdentityNotVerified(Unprocessable):
    """The civil registry has no resident with this NIK, full name and birth date. Which of
    them failed is not said (nor known here): that would help whoever is guessing."""

    code, title = "identity-not-verified", "Identity not verified"


class PhoneFull(Unprocessable):
    code, title = "phone-full", "Too many people on this phone"


async def check_phone_room(session: AsyncSession, tk: Toolkit, phone: str) -> None:
    """Raise unless ``phone`` can hold one more person (call under ``lock_phone``)."""
    limit = tk.settings.max_people_per_phone
    if await repository.verified_on_phone(session, tk.protector.phone_hash(phone)) >= limit:
        raise PhoneFull(f"one phone number holds at most {limit} people")


async def register(
    session: AsyncSession,
    tk: Toolkit,
    registry: CivilRegistry,
    request: RegisterPerson,
    now: datetime,
) -> tuple[Person, bool]:
    """Register a citizen whose NIK, full name and birth date the civil registry confirms.

    The name, birth date and sex kept are the registry's. The NIK is bound to the phone only
    once the phone is proven (the first sign-in code exchanged, :func:`bind_phone`); until then
    a later registration of the same NIK with another phone takes the row over. The same NIK
    with the same phone returns the same person; a NIK bound to another phone is a 409 (a
    health officer re-binds it, :mod:`lindung_health.people.recovery`). Nothing is written when
    the registry cannot be reached (503)."""
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
    record = await registry.verify(request.nik, request.name.strip(), request.birth_date)
    if record is None:
        log.info("registration refused: identity not confirmed by the civil registry")
        raise IdentityNotVerified(
            "the NIK, full name and birth date do not match a resident of the civil registry"
        )
    nik_hash = tk.protector.hash(request.nik)
    await repository.lock_phone(session, tk.protector.phone_hash(phone))

    existing = await repository.by_nik_hash(session, nik_hash)
    if existing is None or (
        existing.phone_verified_at is None and not has_phone(tk.protector, existing, phone)
    ):
        await check_phone_room(session, tk, phone)
    if existing is None:
        new_id = await repository.insert_if_new(
            session,
            {
                "id": uuid.uuid4(),
                "nik_hash": nik_hash,
                "nik_ciphertext": tk.protector.encrypt(request.nik),
                **sealed_columns(tk.protector, name=record.full_name, phone_e164=phone),
                "birth_date": record.birth_date,
                "sex": record.sex,
                "regency_code": info.regency_code,
                "language": request.language.value,
                "created_at": now,
                "updated_at": now,
                "phone_verified_at": None,
            },
        )
        if new_id is not None:
            person = await repository.get(session, new_id)
            assert person is not None
            linked = await repository.link_records(session, person.id, nik_hash)
            await outbox.add_events(session, [_contact_event(tk, person)])
            await recompute(session, person, now)
            log.info("person registered", extra={"person_id": str(person.id), "linked": linked})
            return person, True
        existing = await repository.by_nik_hash(session, nik_hash)
        assert existing is not None
    if existing.phone_verified_at is None:
        # Nothing is bound yet: the registration whose phone proves itself first wins.
        if (
            not has_phone(tk.protector, existing, phone)
            or existing.language != request.language.value
        ):
            set_phone(tk.protector, existing, phone)
            set_name(tk.protector, existing, record.full_name)
            existing.language, existing.updated_at = request.language.value, now
            await session.flush()
            await outbox.add_events(session, [_contact_event(tk, existing)])
        return existing, False
    if not has_phone(tk.protector, existing, phone):
        # Not silently re-pointed: whoever controls the phone controls the account.
        raise Conflict(
            "this NIK is already registered with another phone number; sign in with that "
            "number and change it, or ask a health officer to re-bind it to your phone",
            code="nik-registered-other-phone",
        )
    return existing, False


async def bind_phone(session: AsyncSession, tk: Toolkit, person: Person, now: datetime) -> None:
    """The phone has just been proven by a sign-in code: bind the NIK to it, within the
    per-phone limit."""
    if person.phone_verified_at is not None:
        return
    phone = phone_of(tk.protector, person)
    await repository.lock_phone(session, person.phone_hash)
    await check_phone_room(session, tk, phone)
    person.phone_verified_at = now
    await session.flush()
    log.info("phone proven; NIK bound", extra={"person_id": str(person.id)})


def _contact_event(tk: Toolkit, person: Person) -> Envelope[Any]:
    return make_event(
        "person.contact_changed",
        PersonContactChangedV2(
            person_id=person.id,
            phone_sealed=tk.sealer.seal(phone_of(tk.protector, person), "phone"),
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
    session: AsyncSession, tk: Toolkit, person: Person, update: ContactUpdate, now: datetime
) -> Person:
    changed = False
    if update.phone is not None:
        raise Unprocessable(
            "a new phone number is proven by a code first: POST /v1/people/me/phone",
            code="phone-needs-code",
        )
    if update.language is not None and update.language.value != person.language:
        person.language, changed = update.language.value, True
    if changed:
        person.updated_at = now
        await session.flush()
        await outbox.add_events(session, [_contact_event(tk, person)])
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
    suspects = await cases.suspects_of(session, person.id)
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
        suspected=[
            SuspectOut(
                suspect_ref=s.suspect_ref,
                suspected_at=s.suspected_at,
                state=s.state,  # type: ignore[arg-type]
                resolution=s.resolution,  # type: ignore[arg-type]
                resolved_at=s.resolved_at,
            )
            for s in suspects
        ],
    )


async def officer_lookup(
    session: AsyncSession, tk: Toolkit, officer: Principal, nik: str, purpose: str, now: datetime
) -> LookupOut | None:
    """An officer reads a person by NIK; the read is written to the audit log first. The
    NIK's regency (its first four digits) must lie in the officer's jurisdiction. An unknown
    NIK is audited too: None, and the caller answers 404 *after* committing that entry."""
    officer_id = officer.subject
    if not nik.isdigit():
        raise Unprocessable("the NIK must be 16 digits", code="nik-format")
    ensure_covers(officer, nik[:4])
    person = await repository.by_nik_hash(session, tk.protector.hash(nik))
    if person is None:
        await audit.append(
            session,
            officer_id=officer_id,
            person_id=None,
            action="person.lookup.unknown",
            purpose=purpose,
            at=now,
        )
        return None
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
        name=name_of(tk.protector, person),
        birth_date=person.birth_date,
        sex=person.sex,  # type: ignore[arg-type]
        phone=phone_of(tk.protector, person),
        status=status_out(status),
        records=await records_of(session, person),
    )
