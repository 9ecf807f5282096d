from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from lindung_shared.auth import Principal, Role, VenueManagerDep, require_roles
from lindung_shared.db import SessionDep
from starlette.concurrency import run_in_threadpool

from lindung_venues.deps import VaultDep
from lindung_venues.models import QrCode
from lindung_venues.openapi import Responses
from lindung_venues.qr_codes import posters, service
from lindung_venues.qr_codes.schemas import QrCodeCreate, QrCodeOut

router = APIRouter(prefix="/v1/venues/{venue_id}/qr-codes", tags=["QR codes"])

ReaderDep = Annotated[Principal, Depends(require_roles(Role.VENUE_MANAGER, Role.HEALTH_OFFICER))]

_ERRORS: Responses = {
    401: {"description": "no or invalid bearer token"},
    403: {"description": "wrong role, or the venue belongs to another manager"},
    404: {"description": "unknown venue or QR code"},
}
_POSTER_ERRORS: Responses = {
    **_ERRORS,
    409: {"description": "the venue is closed"},
    410: {"description": "the code is revoked, or its signing key retired"},
}


def _out(code: QrCode, key_status: str) -> QrCodeOut:
    return QrCodeOut(
        id=code.id,
        venue_id=code.venue_id,
        entrance=code.entrance,
        key_id=code.key_id,
        key_status=key_status,  # type: ignore[arg-type]
        payload=code.payload,
        issued_at=code.issued_at,
        revoked_at=code.revoked_at,
    )


@router.post(
    "",
    status_code=201,
    response_model=QrCodeOut,
    summary="Issue the signed QR code of an entrance (its manager)",
    responses={
        **_ERRORS,
        409: {"description": "the entrance already has a live code, or the venue is closed"},
        422: {"description": "the venue has no such entrance"},
    },
)
async def issue_code(
    venue_id: uuid.UUID,
    body: QrCodeCreate,
    session: SessionDep,
    vault: VaultDep,
    manager: VenueManagerDep,
) -> QrCodeOut:
    code = await service.issue(session, vault, manager, venue_id, body.entrance)
    return _out(code, "active")


@router.get(
    "",
    response_model=list[QrCodeOut],
    summary="The venue's QR codes (live ones; add include_revoked=true for all)",
    responses=_ERRORS,
)
async def list_codes(
    venue_id: uuid.UUID, session: SessionDep, principal: ReaderDep, include_revoked: bool = False
) -> list[QrCodeOut]:
    codes = await service.list_codes(session, principal, venue_id, include_revoked=include_revoked)
    return [_out(c.code, c.key_status) for c in codes]


@router.delete(
    "/{qr_id}",
    status_code=204,
    summary="Revoke a QR code: check-ins with it are refused from now on",
    responses={**_ERRORS, 410: {"description": "already revoked"}},
)
async def revoke_code(
    venue_id: uuid.UUID, qr_id: uuid.UUID, session: SessionDep, manager: VenueManagerDep
) -> Response:
    await service.revoke(session, manager, venue_id, qr_id)
    return Response(status_code=204)


async def _poster_text(
    session: SessionDep, principal: Principal, venue_id: uuid.UUID, qr_id: uuid.UUID
) -> tuple[str, posters.PosterText]:
    venue, code = await service.printable(session, principal, venue_id, qr_id)
    return code.payload, posters.PosterText(
        venue_name=venue.name, entrance=code.entrance, reference=str(code.id)[:8]
    )


def _attachment(venue_id: uuid.UUID, qr_id: uuid.UUID, suffix: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'inline; filename="lindung-{qr_id}.{suffix}"',
        "Cache-Control": "private, no-store",
    }


@router.get(
    "/{qr_id}/poster.png",
    summary="Poster as PNG",
    response_class=Response,
    responses={**_POSTER_ERRORS, 200: {"content": {"image/png": {}}}},
)
async def poster_png(
    venue_id: uuid.UUID, qr_id: uuid.UUID, session: SessionDep, principal: ReaderDep
) -> Response:
    payload, text = await _poster_text(session, principal, venue_id, qr_id)
    body = await run_in_threadpool(posters.png, payload, text)
    return Response(body, media_type="image/png", headers=_attachment(venue_id, qr_id, "png"))


@router.get(
    "/{qr_id}/poster.svg",
    summary="Poster as SVG (A4)",
    response_class=Response,
    responses={**_POSTER_ERRORS, 200: {"content": {"image/svg+xml": {}}}},
)
async def poster_svg(
    venue_id: uuid.UUID, qr_id: uuid.UUID, session: SessionDep, principal: ReaderDep
) -> Response:
    payload, text = await _poster_text(session, principal, venue_id, qr_id)
    body = await run_in_threadpool(posters.svg, payload, text)
    return Response(body, media_type="image/svg+xml", headers=_attachment(venue_id, qr_id, "svg"))


@router.get(
    "/{qr_id}/poster.pdf",
    summary="Printable A4 poster (PDF) with instructions in Indonesian and English",
    response_class=Response,
    responses={**_POSTER_ERRORS, 200: {"content": {"application/pdf": {}}}},
)
async def poster_pdf(
    venue_id: uuid.UUID, qr_id: uuid.UUID, session: SessionDep, principal: ReaderDep
) -> Response:
    payload, text = await _poster_text(session, principal, venue_id, qr_id)
    body = await run_in_threadpool(posters.pdf, payload, text)
    return Response(body, media_type="application/pdf", headers=_attachment(venue_id, qr_id, "pdf"))
