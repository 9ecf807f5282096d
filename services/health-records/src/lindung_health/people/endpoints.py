"""People: registration, own status and records, contact details; officer look-ups."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from lindung_shared.auth import CitizenDep, HealthOfficerDep
from lindung_shared.db import SessionDep

from lindung_health.deps import CivilRegistryDep, ToolkitDep, utcnow
from lindung_health.people import service
from lindung_health.people.schemas import (
    ContactUpdate,
    LookupOut,
    LookupRequest,
    RecordsOut,
    Registered,
    RegisterPerson,
    StatusOut,
)

router = APIRouter(prefix="/v1/people", tags=["people"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a citizen (public; checked against the civil registry)",
    description=(
        "Open to anyone (a citizen has no token before registering; sign in afterwards with "
        "`POST /v1/auth/otp`). Validates the NIK's structure (region codes, date of birth, "
        "women's day + 40) against the birth date and the phone number, then asks the civil "
        "registry (Dukcapil) whether the NIK, full name and birth date belong to one resident: "
        "if not, 422 `identity-not-verified` (which field failed is not said). The name kept "
        "(and printed on certificates) is the registry's. The NIK is bound to the phone when "
        "the phone is proven by the first sign-in code; one phone holds at most "
        "`HEALTH_MAX_PEOPLE_PER_PHONE` (5) people. Registering the same NIK again with the "
        "same phone returns the same person (200); with another phone once bound, 409 (a "
        "health officer re-binds it). Safe to retry; rate-limit per client at the gateway."
    ),
    responses={
        200: {"model": Registered, "description": "already registered: the same person"},
        409: {"description": "the NIK is bound to another phone"},
        422: {"description": "not valid, identity not verified, or the phone is full"},
        503: {"description": "the civil registry cannot be reached (Retry-After)"},
    },
)
async def register_person(
    body: RegisterPerson,
    session: SessionDep,
    toolkit: ToolkitDep,
    registry: CivilRegistryDep,
    response: Response,
) -> Registered:
    person, created = await service.register(session, toolkit, registry, body, utcnow())
    if not created:
        response.status_code = status.HTTP_200_OK
    return Registered(person_id=person.id, created=created)


@router.get("/me/status", summary="My screening status")
async def my_status(principal: CitizenDep, session: SessionDep) -> StatusOut:
    now = utcnow()
    person = await service.person_of(session, principal.subject)
    return service.status_out(await service.status_of(session, person, now))


@router.get("/me/records", summary="My vaccinations, tests and cases")
async def my_records(principal: CitizenDep, session: SessionDep) -> RecordsOut:
    person = await service.person_of(session, principal.subject)
    return await service.records_of(session, person)


@router.patch(
    "/me",
    summary="Change my phone number or language",
    responses={422: {"description": "the phone number is not valid"}},
)
async def change_contact(
    body: ContactUpdate, principal: CitizenDep, session: SessionDep
) -> Registered:
    person = await service.person_of(session, principal.subject)
    await service.update_contact(session, person, body, utcnow())
    return Registered(person_id=person.id, created=False)


@router.post(
    "/lookup",
    summary="Look a person up by NIK (health officers; audited)",
    description=(
        "The NIK travels in the body so that it never appears in URLs or access logs. Every "
        "successful look-up is written to the append-only audit log (officer, person, purpose, "
        "time) in the same transaction as the read."
    ),
    responses={404: {"description": "no person has this NIK"}},
)
async def lookup(
    body: LookupRequest, principal: HealthOfficerDep, session: SessionDep, toolkit: ToolkitDep
) -> LookupOut:
    return await service.officer_lookup(
        session, toolkit, principal.subject, body.nik, body.purpose, utcnow()
    )
