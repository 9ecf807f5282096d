"""Request and response models of the certificates API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from lindung_shared.audit import Reason
from pydantic import BaseModel, Field

CertificateKind = Literal["vaccination", "test", "recovery"]
KINDS: dict[str, CertificateKind] = {"v": "vaccination", "t": "test", "r": "recovery"}

_HC1_EXAMPLE = (
    "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IUKRG*I.I5BROCWAAT4V22F/8X*G3M9JUPY0BX/KR96R"
    "/S09T./0LWTKD33236J3TA3M*4VV2 73-E3GG396B-43O058YIB73A*G3W19UEBY5:PI0EGSP4*2DN43U*0CEBQ"
)

_QR_PNG = "/v1/people/me/certificates/0b7e1f43-2a35-4b55-8f0c-3c1d9d0a8e21/qr.png"
_QR_SVG = "/v1/people/me/certificates/0b7e1f43-2a35-4b55-8f0c-3c1d9d0a8e21/qr.svg"


class VerifyRequest(BaseModel):
    """An ``HC1:`` string, or a QR image (PNG or JPEG) as base64."""

    hc1: str | None = Field(default=None, max_length=8000)
    image_base64: str | None = Field(default=None, max_length=4_000_000)

    model_config = {"json_schema_extra": {"examples": [{"hc1": _HC1_EXAMPLE}]}}


class SignerInfo(BaseModel):
    kid: str = Field(description="base64 of the 8-byte key id")
    country: str
    subject: str


class VerifyResponse(BaseModel):
    valid: bool
    reason: str = Field(
        description=(
            "valid, bad-prefix, base45, zlib, cbor, cose-structure, cwt-claims, unknown-kid, "
            "unsupported-algorithm, signature, expired, not-yet-valid, key-usage, schema, "
            "no-qr-code"
        )
    )
    detail: str
    certificate_type: CertificateKind | None = None
    kid: str | None = None
    issuer_country: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    signer: SignerInfo | None = None
    content: dict[str, Any] | None = Field(default=None, description="the decoded DCC")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "valid": False,
                    "reason": "expired",
                    "detail": "expired at 2022-05-06T00:00:00+00:00",
                    "certificate_type": "vaccination",
                    "kid": "2Rk3X8HntrI=",
                    "issuer_country": "AT",
                    "issued_at": "2021-05-06T00:00:00Z",
                    "expires_at": "2022-05-06T00:00:00Z",
                    "signer": {"kid": "2Rk3X8HntrI=", "country": "AT", "subject": "CN=AT DSC 1"},
                    "content": {"ver": "1.3.0", "nam": {"fnt": "MUSTERFRAU"}, "dob": "1998-02-26"},
                }
            ]
        }
    }


class TrustListEntry(BaseModel):
    id: uuid.UUID
    kid: str
    country: str
    origin: Literal["own", "foreign"]
    subject: str
    not_before: datetime
    not_after: datetime
    key_usage: list[CertificateKind]
    active: bool
    certificate: str = Field(description="base64 of the DER X.509 certificate")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "6a1c0a43-5b8d-4a9e-9f43-8a3d2a5c9e10",
                    "kid": "2Rk3X8HntrI=",
                    "country": "AT",
                    "origin": "foreign",
                    "subject": "CN=AT DSC 1,C=AT",
                    "not_before": "2021-05-05T12:41:06Z",
                    "not_after": "2023-05-05T12:41:06Z",
                    "key_usage": ["recovery", "test", "vaccination"],
                    "active": False,
                    "certificate": "MIIBvTCCAWOgAwIBAgIKAXk8i88OleLsuTAK...",
                }
            ]
        }
    }


class TrustListUpload(BaseModel):
    certificate: str = Field(
        min_length=32, max_length=20_000, description="PEM, or base64 of the DER certificate"
    )
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")
    reason: Reason

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "certificate": "MIIBvTCCAWOgAwIBAgIKAXk8i88OleLsuTAK...",
                    "country": "AT",
                    "reason": "Austria's new document signer from the EU gateway, 2026-12",
                }
            ]
        }
    }


class TrustListChange(BaseModel):
    """Why the trust list changes (kept in the audit log)."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"reason": "yearly rotation of our signer"}]},
    }

    reason: Reason


class IssuedCertificateView(BaseModel):
    id: uuid.UUID
    certificate_type: CertificateKind
    uvci: str
    hc1: str
    issued_at: datetime
    expires_at: datetime
    kid: str
    qr_png_url: str
    qr_svg_url: str
    content: dict[str, Any]


class SkippedRecord(BaseModel):
    record_id: uuid.UUID
    reason: str


class ForeignCertificateView(BaseModel):
    id: uuid.UUID
    certificate_type: CertificateKind
    uvci: str
    issuer_country: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    attached_at: datetime
    content: dict[str, Any]


class MyCertificates(BaseModel):
    certificates: list[IssuedCertificateView]
    foreign: list[ForeignCertificateView]
    skipped: list[SkippedRecord] = Field(
        description="records that make no certificate, and why (e.g. an unspecified vaccine)"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "certificates": [
                        {
                            "id": "0b7e1f43-2a35-4b55-8f0c-3c1d9d0a8e21",
                            "certificate_type": "vaccination",
                            "uvci": "URN:UVCI:01:ID:V5A3F...",
                            "hc1": _HC1_EXAMPLE,
                            "issued_at": "2026-11-25T21:00:00Z",
                            "expires_at": "2027-11-25T21:00:00Z",
                            "kid": "q7fO3i0mN0E=",
                            "qr_png_url": _QR_PNG,
                            "qr_svg_url": _QR_SVG,
                            "content": {"ver": "1.3.0", "v": [{"dn": 2, "sd": 2}]},
                        }
                    ],
                    "foreign": [],
                    "skipped": [],
                }
            ]
        }
    }
