"""People: registration, own status and records, contact details; officer look-ups."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response, status
from lindung_shared.auth import CitizenDep, HealthOfficerDep, ensure_covers
from lindung_shared.db import SessionDep
from lindung_shared.errors import NotFound, problem_response
from lindung_shared.ratelimit import Limit, RateLimiterDep, client_address

from lindung_health.deps import CivilRegistryDep, ToolkitDep, utcnow
from lindung_health.people import recovery, service
from lindung_health.people.schemas import (
    CodeConfirmation,
    ContactUpdate,
    LookupOut,
    LookupRequest,
    PhoneChange,
    RecordsOut,
    Recovered,
    RecoveryConfirmation,
    RecoveryRequest,
    Registered,
    RegisterPerson,
    StatusOut,
)
from lindung_health.signin.schemas import CodeIssued, TokenOut
from lindung_health.signin.service import SignInFailure

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
        "same phone answers 200 `created: false` with `person_id` null (the id is learnt by "
        "signing in, not by knowing a NIK and a phone); with another phone once bound, 409 (a "
        "health officer re-binds it). Safe to retry. At most "
        "`registrations_per_address_per_hour` (300) registrations per client address per "
        "hour, across every API process (429 with Retry-After beyond)."
    ),
    responses={
        429: {"description": "too many registrations from this address; see Retry-After"},
        200: {
            "model": Registered,
            "description": "already registered (person_id null: sign in to learn it)",
        },
        409: {"description": "the NIK is bound to another phone"},
        422: {"description": "not valid, identity not verified, or the phone is full"},
        503: {"description": "the civil registry cannot be reached (Retry-After)"},
    },
)
async def register_person(
    body: RegisterPerson,
    request: Request,
    session: SessionDep,
    toolkit: ToolkitDep,
    registry: CivilRegistryDep,
    response: Response,
    limiter: RateLimiterDep,
) -> Registered:
    hourly = request.app.state.settings.registrations_per_address_per_hour
    await limiter.hit(Limit("registrations-per-address", hourly, 3600), client_address(request))
    person, created = await service.register(session, toolkit, registry, body, utcnow())
    if not created:
        # Whoever knows a NIK and its phone can get here: the existing person's id is not
        # theirs to learn (it names the person in tokens, events and logs).
        response.status_code = status.HTTP_200_OK
        return Registered(person_id=None, created=False)
    return Registered(person_id=person.id, created=True)


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
    summary="Change my language",
    description=(
        "The phone number is changed with `POST /v1/people/me/phone` (a code goes to the new "
        "number first); a `phone` here is refused with 422 `phone-needs-code`."
    ),
    responses={422: {"description": "a phone given (it needs a code)"}},
)
async def change_contact(
    body: ContactUpdate, principal: CitizenDep, session: SessionDep, toolkit: ToolkitDep
) -> Registered:
    person = await service.person_of(session, principal.subject)
    await service.update_contact(session, toolkit, person, body, utcnow())
    return Registered(person_id=person.id, created=False)


@router.post(
    "/lookup",
    response_model=LookupOut,
    summary="Look a person up by NIK (health officers; audited)",
    description=(
        "The NIK travels in the body so that it never appears in URLs or access logs. Only "
        "NIKs of regencies (the NIK's first four digits) inside the officer's jurisdiction "
        "are looked up. Every look-up, of a known NIK or not, is written to the append-only "
        "audit log (officer, person, purpose, time) in the same transaction as the read."
    ),
    responses={
        403: {"description": "the NIK's regency is outside the officer's jurisdiction"},
        404: {"description": "no person has this NIK (the look-up is audited all the same)"},
    },
)
async def lookup(
    body: LookupRequest,
    principal: HealthOfficerDep,
    session: SessionDep,
    toolkit: ToolkitDep,
    request: Request,
) -> LookupOut | Response:
    found = await service.officer_lookup(
        session, toolkit, principal, body.nik, body.purpose, utcnow()
    )
    if found is None:
        # Returned, not raised: the audit entry of the unknown NIK commits with this answer.
        return problem_response(NotFound("no person is registered with this NIK"), request)
    return found


@router.post(
    "/me/phone",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Change my phone number: send a code to the new number",
    description=(
        "A 6-digit code (valid 5 minutes) goes by SMS to the new number; send it back with "
        "`POST /v1/people/me/phone/confirm`. The new number must have room (at most "
        "`HEALTH_MAX_PEOPLE_PER_PHONE` people)."
    ),
    responses={
        422: {"description": "not a valid number, the same number, or the phone is full"},
        429: {"description": "too many codes requested"},
    },
)
async def start_phone_change(
    body: PhoneChange, principal: CitizenDep, session: SessionDep, toolkit: ToolkitDep
) -> CodeIssued:
    person = await service.person_of(session, principal.subject)
    return await recovery.start_phone_change(session, toolkit, person, body.phone, utcnow())


@router.post(
    "/me/phone/confirm",
    response_model=TokenOut,
    summary="Change my phone number: the code from the new number",
    description=(
        "The account moves to the new number, the old number is told by SMS, and every token "
        "issued so far stops working on every service within a second; the answer carries a "
        "fresh token."
    ),
    responses={401: {"description": "the code is wrong, used or expired"}},
)
async def confirm_phone_change(
    body: CodeConfirmation,
    principal: CitizenDep,
    request: Request,
    session: SessionDep,
    toolkit: ToolkitDep,
) -> Any:
    person = await service.person_of(session, principal.subject)
    result = await recovery.confirm_phone_change(
        session,
        toolkit,
        request.app.state.token_issuer,
        person,
        body.request_id,
        body.code,
        utcnow(),
    )
    if isinstance(result, SignInFailure):
        return problem_response(result.problem, request)
    return result


@router.post(
    "/recovery",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Recover a NIK bound to another phone: send a code to the holder (officers)",
    description=(
        "For the real holder of a NIK that someone else bound to their phone, after the "
        "officer has seen the holder's KTP. A code goes by SMS to the holder's phone; the "
        "officer completes the recovery with it (`POST /v1/people/recovery/{request_id}/"
        "confirm`). Written to the append-only audit log with the purpose."
    ),
    responses={
        403: {"description": "the NIK's regency is outside the officer's jurisdiction"},
        404: {"description": "no person has this NIK"},
        409: {"description": "the NIK is already bound to this phone"},
        429: {"description": "too many codes requested"},
    },
)
async def start_recovery(
    body: RecoveryRequest, principal: HealthOfficerDep, session: SessionDep, toolkit: ToolkitDep
) -> CodeIssued:
    ensure_covers(principal, body.nik[:4])  # the NIK's regency, as for look-ups
    return await recovery.start_recovery(
        session, toolkit, principal.subject, body.nik, body.phone, body.purpose, utcnow()
    )


@router.post(
    "/recovery/{request_id}/confirm",
    response_model=Recovered,
    summary="Recover a NIK: the code the holder received (the same officer)",
    description=(
        "The NIK is re-bound to the holder's phone, the old number is told by SMS, and every "
        "token of the old binding stops working on every service within a second. Only the "
        "officer who started the recovery can complete it; audited."
    ),
    responses={401: {"description": "the code is wrong, used or expired"}},
)
async def confirm_recovery(
    request_id: uuid.UUID,
    body: RecoveryConfirmation,
    principal: HealthOfficerDep,
    request: Request,
    session: SessionDep,
    toolkit: ToolkitDep,
) -> Any:
    result = await recovery.confirm_recovery(
        session, toolkit, principal.subject, request_id, body.code, body.purpose, utcnow()
    )
    if isinstance(result, SignInFailure):
        return problem_response(result.problem, request)
    return Recovered(person_id=result)
