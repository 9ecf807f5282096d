"""Citizen sign-in: a one-time code by SMS, exchanged for a ``citizen`` token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from lindung_shared.auth import CitizenDep
from lindung_shared.db import SessionDep
from lindung_shared.errors import problem_response
from lindung_shared.ratelimit import Limit, RateLimiterDep, client_address

from lindung_health.deps import ToolkitDep, utcnow
from lindung_health.people import recovery
from lindung_health.people.phone import normalise_phone
from lindung_health.people.service import person_of
from lindung_health.settings import Settings
from lindung_health.signin import service
from lindung_health.signin.schemas import CodeIssued, CodeRequest, TokenOut, TokenRequest
from lindung_health.signin.tokens import issuer_jwks

router = APIRouter(tags=["sign-in"])


@router.post(
    "/v1/auth/otp",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send me a sign-in code by SMS",
    description=(
        "Public. The answer is the same whether or not the phone is registered; a code "
        "(6 digits, valid 5 minutes, 5 attempts) is sent through the notifier only to a "
        "registered phone. At most 3 codes per person (phone and NIK) per 15 minutes, and "
        "twice `HEALTH_MAX_PEOPLE_PER_PHONE` (10) per phone, so that a family sharing a "
        "phone can all sign in at once."
    ),
    responses={
        429: {
            "description": "too many codes requested: for this person (3 per 15 "
            "minutes), this phone (10 per 15 minutes; counted across every API process) or "
            "from this address; see Retry-After"
        }
    },
)
async def request_code(
    body: CodeRequest,
    request: Request,
    session: SessionDep,
    toolkit: ToolkitDep,
    limiter: RateLimiterDep,
) -> CodeIssued:
    settings: Settings = request.app.state.settings
    # Counted before anything else, each in one atomic statement: parallel requests on any
    # number of processes cannot all pass (the per-person count below raced).
    await limiter.hit(
        Limit("otp-per-address", settings.otp_per_address_per_15min, 900),
        client_address(request),
    )
    # Per person first, then per phone: a person asking again and again spends only their own
    # budget, not the family's (a phone holds up to HEALTH_MAX_PEOPLE_PER_PHONE people).
    phone = _phone_key(body.phone)
    await limiter.hit(
        Limit("otp-per-person", settings.otp_per_person_per_15min, 900),
        f"{phone}|{body.nik or ''}",
    )
    await limiter.hit(Limit("otp-per-phone", settings.otp_phone_limit(), 900), phone)
    return await service.request_code(session, toolkit, body, utcnow())


def _phone_key(raw: str) -> str:
    """The phone as E.164 when it reads as one (so 0812... and +62812... share a limit)."""
    try:
        return normalise_phone(raw)
    except ValueError:
        return "".join(ch for ch in raw if ch.isdigit())


@router.post(
    "/v1/auth/token",
    response_model=TokenOut,
    summary="Exchange a sign-in code for a citizen token",
    responses={
        401: {"description": "the code is wrong, used or expired"},
        429: {"description": "too many attempts from this address; see Retry-After"},
    },
)
async def exchange(
    body: TokenRequest,
    request: Request,
    session: SessionDep,
    toolkit: ToolkitDep,
    limiter: RateLimiterDep,
) -> Any:
    settings: Settings = request.app.state.settings
    await limiter.hit(
        Limit("token-per-address", settings.token_per_address_per_15min, 900),
        client_address(request),
    )
    result = await service.exchange_code(
        session, toolkit, request.app.state.token_issuer, body.request_id, body.code, utcnow()
    )
    if isinstance(result, service.SignInFailure):
        return problem_response(result.problem, request)
    return TokenOut.model_validate(result)


@router.post(
    "/v1/auth/sign-out-everywhere",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke every token issued to me so far",
    description=(
        "Every token of the caller (this one included) stops working on every service within "
        "a second. Sign in again with a code."
    ),
)
async def sign_out_everywhere(principal: CitizenDep, session: SessionDep) -> Response:
    person = await person_of(session, principal.subject)
    await recovery.sign_out_everywhere(session, person, utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/.well-known/jwks.json",
    summary="Public key of the identity issuer (verifies citizen tokens)",
)
async def jwks(request: Request) -> JSONResponse:
    return JSONResponse(issuer_jwks(request.app.state.token_issuer))
