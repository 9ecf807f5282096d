"""The citizen's door: check in, check out, upload offline visits."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from lindung_shared.auth import CitizenDep, Principal
from lindung_shared.errors import Unauthorized
from lindung_shared.ratelimit import RateLimiter

from lindung_checkin.checkins.schemas import (
    BatchAnswer,
    BatchRequest,
    CheckinAnswer,
    CheckinRequest,
    CheckoutAnswer,
)
from lindung_checkin.checkins.service import Door, person_limit
from lindung_checkin.database import JsonResponse

router = APIRouter(prefix="/v1/checkins", tags=["check-in"])


async def get_door(request: Request) -> Door:
    door: Door = request.app.state.door
    return door


DoorDep = Annotated[Door, Depends(get_door)]


def person_of(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        raise Unauthorized("a citizen token's subject must be a person id") from None


_NOT_YOURS: dict[int | str, dict[str, Any]] = {404: {"description": "no such visit of yours"}}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    409: {"description": "the venue has closed for good (`venue-closed`)"},
    410: {"description": "the QR code is revoked (`qr-revoked`) or expired (`qr-expired`)"},
    422: {
        "description": "forged or altered (`qr-bad-signature`), unknown key (`qr-unknown-key`), "
        "malformed (`qr-malformed`, `qr-not-lindung`) or an invalid body"
    },
    429: {"description": "too many check-ins by this person this minute; see Retry-After"},
    503: {
        "description": "the code is validly signed but its venue's registration has not reached "
        "this service yet (`venue-not-yet-known`); retry after `Retry-After` seconds"
    },
}


@router.post(
    "",
    summary="Check in at a venue by its scanned QR code",
    description=(
        "Verifies the QR code offline, screens the person (colour and sector rule), enforces "
        "the venue's capacity exactly and records the visit. Scanning the venue you are in "
        "again checks you out; scanning elsewhere checks you out of the previous venue first. "
        "A refusal is a 200 with `outcome: refused`. The answer is sent only after the visit "
        "is committed."
    ),
    response_model=CheckinAnswer,
    response_class=JsonResponse,
    responses=_PROBLEMS,
)
async def check_in(body: CheckinRequest, principal: CitizenDep, request: Request) -> JsonResponse:
    # The door straight from the app state (not a dependency): the busiest route solves only
    # the body and the shared bearer check.
    # The per-person limit is counted inside the scan's own statement (see Door.check_in).
    door: Door = request.app.state.door
    return JsonResponse(await door.check_in(person_of(principal), body))


async def limit_person(request: Request, person: uuid.UUID) -> None:
    """An offline batch counts once against the person's check-ins per minute."""
    limit = person_limit(request.app.state.settings)
    if limit is not None:
        limiter: RateLimiter = request.app.state.rate_limiter
        await limiter.hit(limit, str(person))


@router.post(
    "/batch",
    summary="Upload visits recorded offline",
    description=(
        "Each item carries its client id and scan time; a retried batch changes nothing. "
        "Items in the future or older than the look-back are rejected per item. Visits "
        "scanned more than a few minutes ago are stored for tracing but do not change "
        "present occupancy. An item whose venue registration or QR signing key has not reached "
        "this service yet is held (`status: pending`, with its visit id) and recorded as soon "
        "as both are known (a code that then fails verification is dropped). Repeated "
        "client ids inside one batch reject the whole batch "
        "(422)."
    ),
    response_model=BatchAnswer,
    response_class=JsonResponse,
    responses={429: _PROBLEMS[429]},
)
async def upload_batch(
    body: BatchRequest, principal: CitizenDep, door: DoorDep, request: Request
) -> JsonResponse:
    person = person_of(principal)
    await limit_person(request, person)
    return JsonResponse({"items": await door.upload_batch(person, body.items)})


@router.post(
    "/{visit_id}/checkout",
    summary="Check out of one of your visits",
    response_model=CheckoutAnswer,
    response_class=JsonResponse,
    responses=_NOT_YOURS,
)
async def check_out(visit_id: uuid.UUID, principal: CitizenDep, door: DoorDep) -> JsonResponse:
    return JsonResponse(await door.check_out(person_of(principal), visit_id))
