"""HTTP API of health certificates (EU DCC): trust list, verification, a citizen's own."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from cryptography import x509
from fastapi import APIRouter, Depends, Query, Request, Response
from lindung_shared import audit
from lindung_shared.auth import AdminDep, CitizenDep, Principal, Role, require_roles
from lindung_shared.db import SessionDep
from lindung_shared.errors import NotFound, Unprocessable
from lindung_shared.ratelimit import Limit, RateLimiter, RateLimiterDep
from pydantic import ValidationError

from lindung_health.certificates import qr, service, trust
from lindung_health.certificates.hcert import decode, kid_text
from lindung_health.certificates.models import (
    DocumentSignerRecord,
    ForeignCertificate,
    IssuedCertificate,
)
from lindung_health.certificates.schemas import (
    KINDS,
    ForeignCertificateView,
    IssuedCertificateView,
    MyCertificates,
    SignerInfo,
    SkippedRecord,
    TrustListChange,
    TrustListEntry,
    TrustListUpload,
    VerifyRequest,
    VerifyResponse,
)
from lindung_health.certificates.settings import CertificateSettings
from lindung_health.deps import ToolkitDep

router = APIRouter(tags=["certificates"])

MAX_IMAGE_BYTES = 3_000_000


@dataclass
class CertificateContext:
    settings: CertificateSettings
    keyring: trust.Keyring
    #: The configured country signing CAs (``HEALTH_DCC_CSCA_PEM`` / ``_PATH``).
    cscas: list[x509.Certificate] = field(default_factory=list)


def certificate_context(request: Request) -> CertificateContext:
    """The feature's settings and key cache, made once per app (a test may set its own)."""
    context: CertificateContext | None = getattr(request.app.state, "certificates", None)
    if context is None:
        settings = CertificateSettings()
        context = CertificateContext(settings, trust.Keyring(settings), settings.cscas())
        request.app.state.certificates = context
    return context


ContextDep = Annotated[CertificateContext, Depends(certificate_context)]
VerifierDep = Annotated[
    Principal, Depends(require_roles(Role.VENUE_MANAGER, Role.HEALTH_OFFICER, Role.SERVICE))
]


def _now() -> datetime:
    return datetime.now(UTC)


def _person_id(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(principal.subject)
    except ValueError as exc:
        raise NotFound("no person is registered with this id") from exc


async def _payload(request: Request) -> str:
    """The HC1 text from JSON (``hc1`` or ``image_base64``) or multipart (``hc1`` or ``image``)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        # Text fields hold an HC1 string (8,000 characters at most): 64 KiB is plenty.
        form = await request.form(max_files=1, max_fields=4, max_part_size=64 * 1024)
        text, upload = form.get("hc1"), form.get("image")
        if isinstance(text, str) and text.strip():
            return service.payload_from(text, None)
        if upload is None or isinstance(upload, str):
            raise Unprocessable("send a form field hc1 or a file field image")
        image = await upload.read(MAX_IMAGE_BYTES + 1)
        if len(image) > MAX_IMAGE_BYTES:
            raise Unprocessable("the image is larger than 3 MB")
        return await anyio.to_thread.run_sync(service.payload_from, None, image)
    try:
        body = VerifyRequest.model_validate(json.loads(await request.body() or b"{}"))
    except (ValueError, ValidationError) as exc:
        raise Unprocessable(
            'send JSON {"hc1": "HC1:..."} or {"image_base64": "..."}, or a multipart form'
        ) from exc
    if body.image_base64:
        return await anyio.to_thread.run_sync(_from_base64_image, body.hc1, body.image_base64)
    return service.payload_from(body.hc1, None)


def _from_base64_image(hc1: str | None, image_base64: str) -> str:
    return service.payload_from(hc1, service.decode_base64_image(image_base64))


_PAYLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": VerifyRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "hc1": {"type": "string"},
                        "image": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    }
}


async def _limit_verifications(request: Request, limiter: RateLimiter, caller: str) -> None:
    """Verification (and attaching) per caller: decoding and signature checks cost CPU."""
    per_minute = request.app.state.settings.verifications_per_caller_per_minute
    await limiter.hit(Limit("verifications-per-caller", per_minute, 60), caller)


_RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "too many verifications by this caller; see Retry-After"}
}


def _verify_response(checked: service.Checked) -> VerifyResponse:
    result = checked.verification
    claims = result.claims
    kind = result.certificate_type
    return VerifyResponse(
        valid=result.valid,
        reason=result.reason.value,
        detail=result.detail,
        certificate_type=KINDS.get(kind) if kind else None,
        kid=kid_text(result.kid) if result.kid else None,
        issuer_country=claims.issuer if claims else None,
        issued_at=claims.issued_at if claims else None,
        expires_at=claims.expires_at if claims else None,
        signer=(
            SignerInfo(
                kid=kid_text(result.kid),
                country=checked.signer_country,
                subject=checked.signer_subject or "",
            )
            if result.signer is not None and result.kid and checked.signer_country
            else None
        ),
        content=result.dcc,
    )


@router.post(
    "/v1/certificates/verify",
    response_model=VerifyResponse,
    summary="Verify an EU DCC (HC1 string or QR image) against the trust list",
    description=(
        "Answers whether the certificate is valid now and, if not, which step failed. "
        "Body: JSON `{hc1}` or `{image_base64}`, or a multipart form with `hc1` or `image` "
        "(PNG/JPEG). An image without a readable QR code answers 422 `no-qr-code`."
    ),
    openapi_extra=_PAYLOAD_BODY,
    responses=_RATE_LIMITED,
)
async def verify_certificate(
    request: Request, session: SessionDep, caller: VerifierDep, limiter: RateLimiterDep
) -> VerifyResponse:
    await _limit_verifications(request, limiter, caller.subject)
    hc1 = await _payload(request)
    return _verify_response(await service.verify_payload(session, hc1, _now()))


def _trust_entry(record: DocumentSignerRecord) -> TrustListEntry:
    return TrustListEntry(
        id=record.id,
        kid=kid_text(record.kid),
        country=record.country,
        origin=record.origin,  # type: ignore[arg-type]
        subject=record.subject,
        not_before=record.not_before,
        not_after=record.not_after,
        key_usage=[KINDS[k] for k in record.key_usage],
        active=record.active,
        certificate=base64.b64encode(record.certificate_der).decode("ascii"),
    )


@router.get(
    "/v1/trust-list",
    response_model=list[TrustListEntry],
    summary="The public trust list: our and foreign document signer certificates",
    description="Public, as DCC trust lists are: verifiers need it to check certificates offline.",
)
async def get_trust_list(
    session: SessionDep,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[TrustListEntry]:
    records = await service.trust_list(
        session, country=country.upper() if country else None, limit=limit, offset=offset
    )
    return [_trust_entry(r) for r in records]


@router.post(
    "/v1/trust-list",
    response_model=TrustListEntry,
    status_code=201,
    summary="Load a foreign document signer certificate into the trust list (admins; audited)",
    description=(
        "Admins, with a `reason` (kept in the append-only audit log). The document signer "
        "(DSC) is accepted only when it chains to a "
        "country signing CA (CSCA) of the same country configured for this service "
        "(`HEALTH_DCC_CSCA_PEM` / `HEALTH_DCC_CSCA_PATH`), the DSC and the CSCA both valid "
        "now, and when it is not a CA itself; otherwise 422 (`signer-not-chained`, "
        "`signer-not-valid-now`, `invalid-signer-certificate`)."
    ),
    responses={
        200: {"description": "already in the trust list", "model": TrustListEntry},
        403: {"description": "needs the admin role"},
        422: {"description": "not a certificate, no chain to a loaded CSCA, or not valid now"},
    },
)
async def add_to_trust_list(
    body: TrustListUpload,
    session: SessionDep,
    admin: AdminDep,
    response: Response,
    context: ContextDep,
) -> TrustListEntry:
    certificate = trust.parse_certificate(body.certificate)
    record, created = await trust.add_foreign_signer(
        session,
        certificate,
        body.country,
        added_by=admin.subject,
        cscas=context.cscas,
        now=_now(),
    )
    await audit.record(
        session,
        admin,
        "trust_list.add",
        f"dcc_signer:{kid_text(record.kid)}",
        body.reason,
        {"country": body.country.upper(), "created": created},
    )
    if not created:
        response.status_code = 200
    return _trust_entry(record)


@router.post(
    "/v1/trust-list/own/rotate",
    response_model=TrustListEntry,
    status_code=201,
    summary="Rotate our document signing key; the old one stays trusted until it expires "
    "(admins; audited)",
)
async def rotate_own_key(
    body: TrustListChange, session: SessionDep, admin: AdminDep, context: ContextDep
) -> TrustListEntry:
    record = await trust.rotate_own_signer(
        session, context.settings, _now(), added_by=admin.subject
    )
    await audit.record(
        session, admin, "trust_list.rotate_own", f"dcc_signer:{kid_text(record.kid)}", body.reason
    )
    return _trust_entry(record)


def _issued_view(certificate: IssuedCertificate, signer_kid: bytes) -> IssuedCertificateView:
    base = f"/v1/people/me/certificates/{certificate.id}"
    return IssuedCertificateView(
        id=certificate.id,
        certificate_type=KINDS[certificate.certificate_type],
        uvci=certificate.uvci,
        hc1=certificate.hc1,
        issued_at=certificate.issued_at,
        expires_at=certificate.expires_at,
        kid=kid_text(signer_kid),
        qr_png_url=f"{base}/qr.png",
        qr_svg_url=f"{base}/qr.svg",
        content=decode(certificate.hc1)[1].dcc,
    )


def _foreign_view(certificate: ForeignCertificate) -> ForeignCertificateView:
    return ForeignCertificateView(
        id=certificate.id,
        certificate_type=KINDS[certificate.certificate_type],
        uvci=certificate.uvci,
        issuer_country=certificate.issuer_country,
        issued_at=certificate.issued_at,
        expires_at=certificate.expires_at,
        attached_at=certificate.attached_at,
        content=certificate.dcc,
    )


@router.get(
    "/v1/people/me/certificates",
    response_model=MyCertificates,
    summary="My certificates (vaccination, test, recovery) as EU DCC QR payloads",
)
async def my_certificates(
    session: SessionDep, citizen: CitizenDep, context: ContextDep, toolkit: ToolkitDep
) -> MyCertificates:
    result = await service.certificates_of(
        session, context.settings, context.keyring, toolkit.protector, _person_id(citizen), _now()
    )
    kids = await service.signer_kids(session, {c.signer_id for c in result.issued})
    return MyCertificates(
        certificates=[_issued_view(c, kids.get(c.signer_id, b"")) for c in result.issued],
        foreign=[_foreign_view(c) for c in result.foreign],
        skipped=[SkippedRecord(record_id=r, reason=why) for r, why in result.skipped],
    )


@router.get(
    "/v1/people/me/certificates/{certificate_id}/qr.png",
    summary="The QR code of one of my certificates (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def my_certificate_png(
    certificate_id: uuid.UUID, session: SessionDep, citizen: CitizenDep
) -> Response:
    found = await service.my_certificate(session, _person_id(citizen), certificate_id)
    return Response(
        qr.qr_png(found.hc1), media_type="image/png", headers={"Cache-Control": "private"}
    )


@router.get(
    "/v1/people/me/certificates/{certificate_id}/qr.svg",
    summary="The QR code of one of my certificates (SVG)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def my_certificate_svg(
    certificate_id: uuid.UUID, session: SessionDep, citizen: CitizenDep
) -> Response:
    found = await service.my_certificate(session, _person_id(citizen), certificate_id)
    return Response(
        qr.qr_svg(found.hc1), media_type="image/svg+xml", headers={"Cache-Control": "private"}
    )


@router.post(
    "/v1/people/me/certificates/foreign",
    response_model=ForeignCertificateView,
    status_code=201,
    summary="Attach a verified foreign certificate to my record (counts in my status)",
    description=(
        "The certificate must verify against the trust list and name you (birth date and a "
        "name part). Same body as /v1/certificates/verify. Attaching it again answers 200; "
        "a certificate (UVCI) attached to another person is refused (409 `uvci-attached`)."
    ),
    openapi_extra=_PAYLOAD_BODY,
    responses=_RATE_LIMITED,
)
async def attach_foreign_certificate(
    request: Request,
    session: SessionDep,
    citizen: CitizenDep,
    response: Response,
    toolkit: ToolkitDep,
    limiter: RateLimiterDep,
) -> ForeignCertificateView:
    await _limit_verifications(request, limiter, citizen.subject)
    hc1 = await _payload(request)
    stored, created = await service.attach_foreign(
        session, toolkit.protector, _person_id(citizen), hc1, _now()
    )
    if not created:
        response.status_code = 200
    return _foreign_view(stored)
