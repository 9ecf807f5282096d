"""The signed venue QR payload: the contract between the registry that signs posters and
every service or app that verifies them offline.

Format: ``LINDUNG1:`` followed by a JWS in compact serialisation (RFC 7515), signed with
Ed25519 (``alg: EdDSA``, RFC 8037), header ``{"alg": "EdDSA", "kid": ..., "typ": "lindung-qr"}``
and claims::

    {"v": 1, "ven": "<venue uuid>", "ent": "<entrance>", "qid": "<qr uuid>",
     "iat": <unix seconds>, "exp": <unix seconds, optional>}

Any JOSE library verifies it with the registry's JWKS (``/.well-known/jwks.json``); the code
below is the lean path the check-in service uses (no JSON-schema work, one signature check).
A changed character anywhere fails: the header and claims are covered by the signature, and
the signature itself is checked bit for bit.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "LINDUNG1:"
TYP = "lindung-qr"


class QrInvalid(ValueError):
    """The payload is not a valid, trusted Lindung venue QR code. ``reason`` says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class QrClaims:
    venue_id: uuid.UUID
    entrance: str
    qr_id: uuid.UUID
    issued_at: int
    key_id: str
    expires_at: int | None = None


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_qr(
    key: Ed25519PrivateKey,
    key_id: str,
    *,
    venue_id: uuid.UUID,
    entrance: str,
    qr_id: uuid.UUID,
    issued_at: int | None = None,
    expires_at: int | None = None,
) -> str:
    header = {"alg": "EdDSA", "kid": key_id, "typ": TYP}
    claims: dict[str, Any] = {
        "v": 1,
        "ven": str(venue_id),
        "ent": entrance,
        "qid": str(qr_id),
        "iat": int(issued_at if issued_at is not None else time.time()),
    }
    if expires_at is not None:
        claims["exp"] = int(expires_at)
    signing_input = f"{_b64e(orjson.dumps(header))}.{_b64e(orjson.dumps(claims))}"
    signature = key.sign(signing_input.encode())
    return f"{PREFIX}{signing_input}.{_b64e(signature)}"


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "x" not in jwk:
        raise ValueError("only OKP/Ed25519 public keys are supported")
    return Ed25519PublicKey.from_public_bytes(_b64d(str(jwk["x"])))


def jwk_from_public_key(key: Ed25519PublicKey, key_id: str) -> dict[str, Any]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64e(raw),
        "kid": key_id,
        "use": "sig",
        "alg": "EdDSA",
    }


def peek_key_id(payload: str) -> str:
    """The key id named in a payload's header (unverified), to pick the verification key."""
    header, _, _ = _split(payload)
    return str(_decode_json(header, "header").get("kid", ""))


def _split(payload: str) -> tuple[str, str, str]:
    if not payload.startswith(PREFIX):
        raise QrInvalid("not-lindung", "this is not a Lindung venue QR code")
    parts = payload[len(PREFIX) :].split(".")
    if len(parts) != 3:
        raise QrInvalid("malformed", "the QR payload is malformed")
    return parts[0], parts[1], parts[2]


def _decode_json(part: str, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(_b64d(part))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise QrInvalid("malformed", f"the QR {what} is not valid base64url JSON") from exc
    if not isinstance(value, dict):
        raise QrInvalid("malformed", f"the QR {what} is not a JSON object")
    return value


def verify_qr(
    payload: str, keys: Mapping[str, Ed25519PublicKey], *, now: float | None = None
) -> QrClaims:
    """Verify ``payload`` against the trusted ``keys`` (by key id) and return its claims."""
    header_part, claims_part, signature_part = _split(payload)
    header = _decode_json(header_part, "header")
    if header.get("alg") != "EdDSA" or header.get("typ") != TYP:
        raise QrInvalid("malformed", "the QR header names an unsupported algorithm or type")
    key_id = str(header.get("kid", ""))
    key = keys.get(key_id)
    if key is None:
        raise QrInvalid("unknown-key", "the QR code was signed by an unknown or retired key")
    try:
        signature = _b64d(signature_part)
        if _b64e(signature) != signature_part:  # non-canonical base64 is an altered payload
            raise ValueError("non-canonical signature encoding")
        key.verify(signature, f"{header_part}.{claims_part}".encode())
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise QrInvalid("bad-signature", "the QR code's signature does not verify") from exc
    claims = _decode_json(claims_part, "claims")
    try:
        if claims.get("v") != 1:
            raise QrInvalid("malformed", "unsupported QR payload version")
        expires_at = claims.get("exp")
        result = QrClaims(
            venue_id=uuid.UUID(str(claims["ven"])),
            entrance=str(claims["ent"]),
            qr_id=uuid.UUID(str(claims["qid"])),
            issued_at=int(claims["iat"]),
            key_id=key_id,
            expires_at=int(expires_at) if expires_at is not None else None,
        )
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, QrInvalid):
            raise
        raise QrInvalid("malformed", "the QR claims are incomplete or invalid") from exc
    if result.expires_at is not None and (now or time.time()) >= result.expires_at:
        raise QrInvalid("expired", "the QR code has expired")
    return result
