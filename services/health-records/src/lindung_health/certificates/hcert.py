"""HCERT (EU Digital COVID Certificate) encoding and verification. Pure: no database, no I/O.

Issue:  DCC JSON → CWT claims {iss 1, iat 6, exp 4, hcert -260: {1: dcc}} → CBOR →
        COSE_Sign1 (ES256 or PS256, ``kid`` = first 8 bytes of SHA-256 of the signer's DER
        certificate, in the protected header) → zlib → Base45 → ``HC1:``.
Verify: the same steps backwards; each step that fails yields its own :class:`Reason`.

COSE is done by pycose, CBOR by cbor2, Base45 by base45 and X.509 by cryptography, so the
only thing written here is the order of the steps and what each failure means.
"""

from __future__ import annotations

import base64
import hashlib
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pycose.algorithms import Es256, Ps256
from pycose.headers import KID, Algorithm
from pycose.keys.cosekey import CoseKey
from pycose.messages.sign1message import Sign1Message

from lindung_health.certificates.schema import certificate_type, schema_problems

PREFIX = "HC1:"

CWT_ISSUER = 1
CWT_EXPIRES = 4
CWT_ISSUED_AT = 6
CWT_HCERT = -260
HCERT_EU_DCC_V1 = 1

COSE_SIGN1_TAG = 18
CWT_TAG = 61
COSE_HEADER_ALG = 1
COSE_HEADER_KID = 4
ALG_ES256 = -7
ALG_PS256 = -37
SUPPORTED_ALGORITHMS = {ALG_ES256: "ES256", ALG_PS256: "PS256", -35: "ES384", -36: "ES512"}
_HASHES: dict[int, hashes.HashAlgorithm] = {
    ALG_ES256: hashes.SHA256(),
    ALG_PS256: hashes.SHA256(),
    -35: hashes.SHA384(),
    -36: hashes.SHA512(),
}

#: The extended key usage OIDs that restrict a document signer to certificate types. The
#: hcert specification first published them with an extra ".0" arc; verifiers accept both.
KEY_USAGE_OIDS: dict[str, frozenset[str]] = {
    "t": frozenset({"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"}),
    "v": frozenset({"1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"}),
    "r": frozenset({"1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"}),
}
_ALL_KEY_USAGE_OIDS = frozenset().union(*KEY_USAGE_OIDS.values())


class Reason(StrEnum):
    """Why a certificate is (not) valid; one code per verification step."""

    VALID = "valid"
    BAD_PREFIX = "bad-prefix"
    BASE45 = "base45"
    ZLIB = "zlib"
    CBOR = "cbor"
    COSE_STRUCTURE = "cose-structure"
    CWT_CLAIMS = "cwt-claims"
    UNKNOWN_KID = "unknown-kid"
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    SIGNATURE = "signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    KEY_USAGE = "key-usage"
    SCHEMA = "schema"


class HcertError(Exception):
    """One verification step failed."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


# --- keys -----------------------------------------------------------------------------------

SignerKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def key_id(certificate: x509.Certificate) -> bytes:
    """The DCC key id: the first 8 bytes of the SHA-256 of the DER certificate."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).digest()[:8]


def kid_text(kid: bytes) -> str:
    """A key id as the trust lists write it (standard base64)."""
    return base64.b64encode(kid).decode("ascii")


def _der_length(data: bytes, at: int) -> tuple[int, int]:
    """(length, offset of the content) of the DER element whose length byte is at ``at``."""
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    return int.from_bytes(data[at + 1 : at + 1 + count], "big"), at + 1 + count


def _oid_text(body: bytes) -> str:
    arcs = [*divmod(body[0], 40)] if body[0] < 80 else [2, body[0] - 80]
    value = 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(a) for a in arcs)


_EKU_OID_DER = bytes.fromhex("0603551d25")


def _extended_key_usage_from_der(certificate: x509.Certificate) -> set[str] | None:
    """Read the extended key usage straight from the DER, for certificates whose other
    extensions are not strictly DER (several national signers encode defaults), which
    cryptography refuses to parse."""
    tbs = certificate.tbs_certificate_bytes
    at = tbs.find(_EKU_OID_DER)
    if at < 0:
        return None
    at += len(_EKU_OID_DER)
    if tbs[at] == 0x01:  # the optional "critical" BOOLEAN
        length, content = _der_length(tbs, at + 1)
        at = content + length
    if tbs[at] != 0x04:  # OCTET STRING wrapping the SEQUENCE OF OID
        return None
    _, content = _der_length(tbs, at + 1)
    if tbs[content] != 0x30:
        return None
    length, at = _der_length(tbs, content + 1)
    end, oids = at + length, set()
    while at < end and tbs[at] == 0x06:
        size, body = _der_length(tbs, at + 1)
        oids.add(_oid_text(tbs[body : body + size]))
        at = body + size
    return oids


def extended_key_usage(certificate: x509.Certificate) -> set[str] | None:
    """The dotted OIDs of the certificate's extended key usage; None when it has none."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return _extended_key_usage_from_der(certificate)
    return {oid.dotted_string for oid in usage}


def key_usage_types(certificate: x509.Certificate) -> frozenset[str]:
    """Certificate types (``t``, ``v``, ``r``) a document signer may sign; all when unrestricted."""
    oids = extended_key_usage(certificate)
    if not oids or not oids & _ALL_KEY_USAGE_OIDS:
        return frozenset(KEY_USAGE_OIDS)
    return frozenset(kind for kind, allowed in KEY_USAGE_OIDS.items() if oids & allowed)


@dataclass(frozen=True)
class DocumentSigner:
    """A document signer: its X.509 certificate and private key (EC P-256 or RSA)."""

    certificate: x509.Certificate
    private_key: SignerKey

    @property
    def kid(self) -> bytes:
        return key_id(self.certificate)

    @property
    def algorithm(self) -> int:
        return ALG_ES256 if isinstance(self.private_key, ec.EllipticCurvePrivateKey) else ALG_PS256


def _cose_key(key: SignerKey) -> CoseKey:
    # pycose's public door for foreign keys is PEM.
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return CoseKey.from_pem_private_key(pem.decode("ascii"))


# --- issue ----------------------------------------------------------------------------------


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def encode_cwt(
    dcc: dict[str, Any], *, issuer: str, issued_at: datetime, expires_at: datetime
) -> bytes:
    claims = {
        CWT_ISSUER: issuer,
        CWT_ISSUED_AT: _epoch(issued_at),
        CWT_EXPIRES: _epoch(expires_at),
        CWT_HCERT: {HCERT_EU_DCC_V1: dcc},
    }
    return cbor2.dumps(claims)


def sign_cose(payload: bytes, signer: DocumentSigner) -> bytes:
    algorithm = Es256 if signer.algorithm == ALG_ES256 else Ps256
    message = Sign1Message(phdr={Algorithm: algorithm, KID: signer.kid}, payload=payload)
    message.key = _cose_key(signer.private_key)
    encoded: bytes = message.encode(tag=True)
    return encoded


def encode(
    dcc: dict[str, Any],
    *,
    signer: DocumentSigner,
    issuer: str,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    """Sign ``dcc`` and return the ``HC1:`` string a QR code carries."""
    cose = sign_cose(
        encode_cwt(dcc, issuer=issuer, issued_at=issued_at, expires_at=expires_at), signer
    )
    encoded: bytes = base45.b45encode(zlib.compress(cose, 9))
    return PREFIX + encoded.decode("ascii")


# --- verify, step by step -------------------------------------------------------------------


def unprefix(text: str) -> str:
    if len(text) > MAX_HC1_CHARS:
        raise HcertError(
            Reason.BAD_PREFIX, f"the payload is longer than {MAX_HC1_CHARS} characters"
        )
    stripped = text.strip()
    if not stripped.startswith(PREFIX):
        raise HcertError(Reason.BAD_PREFIX, "the payload does not start with HC1:")
    return stripped[len(PREFIX) :]


def base45_decode(text: str) -> bytes:
    try:
        return bytes(base45.b45decode(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise HcertError(Reason.BASE45, "the payload is not valid Base45") from exc


#: The longest ``HC1:`` text read (a QR code holds at most 4,296 characters).
MAX_HC1_CHARS = 8_000
#: The most a certificate may inflate to; real ones are one or two kilobytes, and a
#: "zip bomb" of 5 KB would otherwise inflate to 5 MB (978 KB of form field to 640 MB).
MAX_INFLATED_BYTES = 64 * 1024


def decompress(data: bytes) -> bytes:
    """Inflate the zlib stream, at most :data:`MAX_INFLATED_BYTES`. A bare COSE message (some
    issuers skip compression) passes as is."""
    if data[:1] in (b"\xd2", b"\x84") or data[:2] == b"\xd8\x3d":
        return data
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(data, MAX_INFLATED_BYTES)
    except zlib.error as exc:
        raise HcertError(Reason.ZLIB, "the zlib stream is corrupt") from exc
    if inflater.unconsumed_tail:
        raise HcertError(Reason.ZLIB, f"the zlib stream inflates beyond {MAX_INFLATED_BYTES} bytes")
    if not inflater.eof:
        raise HcertError(Reason.ZLIB, "the zlib stream is corrupt (truncated)")
    return inflated


@dataclass(frozen=True)
class CoseSign1:
    """A parsed COSE_Sign1 message, with the headers as sent (so the signature can be checked)."""

    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    message: Sign1Message
    protected_raw: bytes = b""
    signature: bytes = b""

    def to_be_signed(self) -> bytes:
        """The COSE Sig_structure for Signature1 (RFC 9052, 4.4), over the header as sent."""
        return bytes(cbor2.dumps(["Signature1", self.protected_raw, b"", self.payload]))

    @property
    def kid(self) -> bytes | None:
        value = self.protected.get(COSE_HEADER_KID, self.unprotected.get(COSE_HEADER_KID))
        return bytes(value) if isinstance(value, bytes | bytearray) else None

    @property
    def algorithm(self) -> int | None:
        value = self.protected.get(COSE_HEADER_ALG, self.unprotected.get(COSE_HEADER_ALG))
        return value if isinstance(value, int) else None


def parse_cose(data: bytes) -> CoseSign1:
    try:
        decoded = cbor2.loads(data)
    except Exception as exc:  # cbor2 raises several types for malformed input
        raise HcertError(Reason.CBOR, "the COSE message is not valid CBOR") from exc
    while isinstance(decoded, cbor2.CBORTag) and decoded.tag in (CWT_TAG, COSE_SIGN1_TAG):
        decoded = decoded.value
    if isinstance(decoded, cbor2.CBORTag):
        raise HcertError(Reason.COSE_STRUCTURE, f"unexpected CBOR tag {decoded.tag}")
    if not (
        isinstance(decoded, list | tuple)
        and len(decoded) == 4
        and isinstance(decoded[0], bytes)
        and isinstance(decoded[1], Mapping)
        and isinstance(decoded[2], bytes)
        and isinstance(decoded[3], bytes)
    ):
        raise HcertError(
            Reason.COSE_STRUCTURE,
            "not a COSE_Sign1 array [protected, unprotected, payload, signature]",
        )
    try:
        protected = cbor2.loads(decoded[0]) if decoded[0] else {}
    except Exception as exc:
        raise HcertError(Reason.COSE_STRUCTURE, "the protected header is not valid CBOR") from exc
    if not isinstance(protected, Mapping):
        raise HcertError(Reason.COSE_STRUCTURE, "the protected header is not a map")
    unprotected = dict(decoded[1])
    try:
        message = Sign1Message.from_cose_obj(
            [decoded[0], unprotected, decoded[2], decoded[3]], allow_unknown_attributes=True
        )
    except Exception as exc:
        raise HcertError(Reason.COSE_STRUCTURE, f"pycose refused the message: {exc}") from exc
    return CoseSign1(
        protected=dict(protected),
        unprotected=unprotected,
        payload=decoded[2],
        message=message,
        protected_raw=decoded[0],
        signature=decoded[3],
    )


#: Deepest nesting accepted in a certificate's content (a DCC needs four levels).
MAX_CONTENT_DEPTH = 16


def _plain(value: Any, depth: int = 0) -> Any:
    """CBOR values as JSON-compatible Python (tagged dates become ISO strings, keys strings).
    Content JSON or PostgreSQL could not hold is refused: nesting deeper than
    :data:`MAX_CONTENT_DEPTH`, NUL characters, NaN and infinities."""
    if depth > MAX_CONTENT_DEPTH:
        raise HcertError(Reason.CWT_CLAIMS, "the certificate's content is nested too deep")
    if isinstance(value, Mapping):
        return {_plain_key(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, cbor2.CBORTag):
        return _plain(value.value, depth + 1)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, str) and "\x00" in value:
        raise HcertError(Reason.CWT_CLAIMS, "the certificate's content holds a NUL character")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise HcertError(Reason.CWT_CLAIMS, "the certificate's content holds NaN or infinity")
        if value.is_integer():
            return int(value)
    if value is not None and not isinstance(value, str | int | float | bool):
        return str(value)  # undefined, other CBOR simple values, sets
    return value


def _plain_key(key: Any) -> str:
    text = key if isinstance(key, str) else str(_plain(key, MAX_CONTENT_DEPTH))
    if "\x00" in text:
        raise HcertError(Reason.CWT_CLAIMS, "the certificate's content holds a NUL character")
    return text


def _moment(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


@dataclass(frozen=True)
class HcertClaims:
    issuer: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    dcc: dict[str, Any]


def parse_claims(payload: bytes) -> HcertClaims:
    try:
        claims = cbor2.loads(payload)
    except Exception as exc:
        raise HcertError(Reason.CBOR, "the CWT payload is not valid CBOR") from exc
    if isinstance(claims, cbor2.CBORTag) and claims.tag == CWT_TAG:
        claims = claims.value
    if not isinstance(claims, Mapping):
        raise HcertError(Reason.CWT_CLAIMS, "the CWT payload is not a map of claims")
    hcert = claims.get(CWT_HCERT)
    if not isinstance(hcert, Mapping) or not isinstance(hcert.get(HCERT_EU_DCC_V1), Mapping):
        raise HcertError(Reason.CWT_CLAIMS, "the hcert claim (-260) holds no EU DCC (1)")
    issuer = claims.get(CWT_ISSUER)
    return HcertClaims(
        issuer=issuer if isinstance(issuer, str) else None,
        issued_at=_moment(claims.get(CWT_ISSUED_AT)),
        expires_at=_moment(claims.get(CWT_EXPIRES)),
        dcc=_plain(hcert[HCERT_EU_DCC_V1]),
    )


def verify_signature(cose: CoseSign1, certificate: x509.Certificate) -> None:
    algorithm = cose.algorithm
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise HcertError(
            Reason.UNSUPPORTED_ALGORITHM, f"COSE algorithm {algorithm} is not supported"
        )
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise HcertError(Reason.SIGNATURE, "the signer's key is neither EC nor RSA")
    if isinstance(public_key, ec.EllipticCurvePublicKey) != (algorithm in (-7, -35, -36)):
        raise HcertError(Reason.SIGNATURE, "the algorithm does not match the signer's key type")
    # The arithmetic is done by cryptography (OpenSSL): pycose verifies ECDSA with the
    # pure-Python ecdsa package, about 9 ms a signature against well under 1 ms here.
    hash_algorithm = _HASHES[algorithm]
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            size = (public_key.curve.key_size + 7) // 8
            if len(cose.signature) != 2 * size:
                raise HcertError(Reason.SIGNATURE, "the ECDSA signature has the wrong length")
            r = int.from_bytes(cose.signature[:size], "big")
            s_value = int.from_bytes(cose.signature[size:], "big")
            public_key.verify(
                encode_dss_signature(r, s_value), cose.to_be_signed(), ec.ECDSA(hash_algorithm)
            )
        else:
            public_key.verify(
                cose.signature,
                cose.to_be_signed(),
                padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=padding.PSS.AUTO),
                hash_algorithm,
            )
    except InvalidSignature as exc:
        raise HcertError(Reason.SIGNATURE, "the signature does not match the signer's key") from exc


def check_validity(claims: HcertClaims, at: datetime) -> None:
    if claims.expires_at is None:
        raise HcertError(Reason.CWT_CLAIMS, "the CWT has no expiry (exp)")
    if at > claims.expires_at:
        raise HcertError(Reason.EXPIRED, f"expired at {claims.expires_at.isoformat()}")
    if claims.issued_at is not None and at < claims.issued_at:
        raise HcertError(Reason.NOT_YET_VALID, f"issued at {claims.issued_at.isoformat()}")


def check_key_usage(certificate: x509.Certificate, dcc: dict[str, Any]) -> None:
    kind = certificate_type(dcc)
    if kind is None:
        raise HcertError(Reason.SCHEMA, "exactly one of v, t, r is required")
    if kind not in key_usage_types(certificate):
        names = {"v": "vaccination", "t": "test", "r": "recovery"}
        raise HcertError(
            Reason.KEY_USAGE, f"the document signer may not sign {names[kind]} certificates"
        )


def check_schema(dcc: dict[str, Any]) -> None:
    problems = schema_problems(dcc)
    if problems:
        raise HcertError(Reason.SCHEMA, "; ".join(problems))


# --- verify, the whole chain ----------------------------------------------------------------

SignerLookup = Callable[[bytes], Sequence[x509.Certificate]]


@dataclass
class Verification:
    """The answer of :func:`verify`: valid or not, the first failing step, what was decoded."""

    valid: bool
    reason: Reason
    detail: str
    kid: bytes | None = None
    claims: HcertClaims | None = None
    signer: x509.Certificate | None = None
    checked: list[Reason] = field(default_factory=list)

    @property
    def dcc(self) -> dict[str, Any] | None:
        return self.claims.dcc if self.claims else None

    @property
    def certificate_type(self) -> str | None:
        return certificate_type(self.dcc) if self.claims else None


def decode(hc1: str) -> tuple[CoseSign1, HcertClaims]:
    """Unwrap an ``HC1:`` string down to its COSE message and claims, without trusting it."""
    cose = parse_cose(decompress(base45_decode(unprefix(hc1))))
    return cose, parse_claims(cose.payload)


def verify(
    hc1: str,
    *,
    signers: SignerLookup,
    at: datetime,
    validate_schema: bool = True,
    decoded: tuple[CoseSign1, HcertClaims] | None = None,
) -> Verification:
    """Decode and verify ``hc1`` at the moment ``at`` against the signers ``signers`` knows
    (``decoded``: what :func:`decode` already made of it, so it is decoded once)."""
    result = Verification(valid=False, reason=Reason.VALID, detail="")
    try:
        cose, claims = decoded if decoded is not None else decode(hc1)
        result.kid, result.claims = cose.kid, claims
        candidates = list(signers(cose.kid)) if cose.kid else []
        if not candidates:
            raise HcertError(Reason.UNKNOWN_KID, "no trusted document signer has this key id")
        failure: HcertError | None = None
        for candidate in candidates:  # 8-byte key ids can collide: try each
            try:
                verify_signature(cose, candidate)
            except HcertError as exc:
                failure = exc
                continue
            result.signer = candidate
            break
        if result.signer is None:
            assert failure is not None
            raise failure
        result.checked.append(Reason.SIGNATURE)
        check_validity(claims, at)
        result.checked.append(Reason.EXPIRED)
        check_key_usage(result.signer, claims.dcc)
        result.checked.append(Reason.KEY_USAGE)
        if validate_schema:
            check_schema(claims.dcc)
            result.checked.append(Reason.SCHEMA)
    except HcertError as exc:
        result.reason, result.detail = exc.reason, exc.detail
        return result
    result.valid, result.detail = True, "the certificate is valid"
    return result
