"""The citizen's door: check in, check out, upload offline visits."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from lindung_shared.auth import CitizenDep, Principal, Role, authorize
from lindung_shared.errors import Unauthorized
from pydantic import ValidationError
from starlette.responses import Response

from lindung_checkin.checkins.schemas import (
    BatchAnswer,
    BatchRequest,
    CheckinAnswer,
    CheckinRequest,
    CheckoutAnswer,
)
from lindung_checkin.checkins.service import Door
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
async def check_in(body: CheckinRequest, principal: CitizenDep, door: DoorDep) -> JsonResponse:
    return JsonResponse(await door.check_in(person_of(principal), body))


async def _json_body(request: Request) -> Any:
    """The request body as FastAPI reads a JSON body parameter (strict content type): parsed
    when the content type is ``application/json`` or ``application/*+json``, left as bytes
    (which then fail validation) otherwise or when absent; an empty body is a missing body."""
    data = await request.body()
    if not data:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    maintype, _, subtype = media.partition("/")
    if maintype != "application" or not (subtype == "json" or subtype.endswith("+json")):
        return data
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error"}]
        ) from None
    except ValueError:  # not UTF-8/16/32
        raise HTTPException(400, "There was an error parsing the body") from None


async def check_in_fast(request: Request) -> Response:
    """``POST /v1/checkins`` as a plain Starlette endpoint, mounted in front of the documented
    route above (which stays for OpenAPI and behaves the same): the busiest door skips
    FastAPI's dependency solver and router layers, about a sixth of its CPU per scan. The
    same token and role check, body model, errors (problem+json, 422 by field) and answer."""
    principal = await authorize(request, Role.CITIZEN)
    raw = await _json_body(request)
    try:
        # from_attributes as FastAPI validates bodies (JSON has no objects with attributes;
        # it only makes a non-object body's message the same as the documented route's).
        body = CheckinRequest.model_validate(raw, from_attributes=True)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    door: Door = request.app.state.door
    return JsonResponse(await door.check_in(person_of(principal), body))


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
)
async def upload_batch(body: BatchRequest, principal: CitizenDep, door: DoorDep) -> JsonResponse:
    return JsonResponse({"items": await door.upload_batch(person_of(principal), body.items)})


@router.post(
    "/{visit_id}/checkout",
    summary="Check out of one of your visits",
    response_model=CheckoutAnswer,
    response_class=JsonResponse,
    responses=_NOT_YOURS,
)
async def check_out(visit_id: uuid.UUID, principal: CitizenDep, door: DoorDep) -> JsonResponse:
    return JsonResponse(await door.check_out(person_of(principal), visit_id))
