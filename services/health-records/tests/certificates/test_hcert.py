"""HCERT encode/verify: a round trip with our own keys, and each failure with its own reason."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import base45
import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from lindung_health.certificates import hcert
from lindung_health.certificates.hcert import DocumentSigner, Reason
from lindung_health.certificates.issuing import Holder, holder_matches, standardised_name
from lindung_health.certificates.trust import generate_development_signer

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

DCC: dict[str, Any] = {
    "ver": "1.3.0",
    "nam": {"fn": "Sari", "fnt": "SARI"},
    "dob": "1990-04-01",
    "v": [
        {
            "tg": "840539006",
            "vp": "J07BX03",
            "mp": "CoronaVac",
            "ma": "Sinovac-Biotech",
            "dn": 2,
            "sd": 2,
            "dt": "2021-08-01",
            "co": "ID",
            "is": "Ministry of Health of the Republic of Indonesia",
            "ci": "URN:UVCI:01:ID:V0123456789ABCDEF",
        }
    ],
}


def _rsa_signer(usage: list[str] | None = None) -> DocumentSigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "RSA DSC")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
    )
    if usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in usage]), critical=False
        )
    return DocumentSigner(builder.sign(key, hashes.SHA256()), key)


@pytest.fixture(scope="module")
def signer() -> DocumentSigner:
    return generate_development_signer("ID", NOW - timedelta(days=1), timedelta(days=365))[0]


def _issue(signer: DocumentSigner, dcc: dict[str, Any] = DCC, **times: datetime) -> str:
    return hcert.encode(
        dcc,
        signer=signer,
        issuer="ID",
        issued_at=times.get("issued_at", NOW),
        expires_at=times.get("expires_at", NOW + timedelta(days=365)),
    )


def _verify(text: str, signer: DocumentSigner, at: datetime = NOW) -> hcert.Verification:
    return hcert.verify(
        text, signers=lambda kid: [signer.certificate] if kid == signer.kid else [], at=at
    )


def test_round_trip_es256(signer: DocumentSigner) -> None:
    text = _issue(signer)
    assert text.startswith("HC1:")
    result = _verify(text, signer)
    assert (result.valid, result.reason) == (True, Reason.VALID), result.detail
    assert result.dcc == DCC
    assert result.certificate_type == "v"
    cose, claims = hcert.decode(text)
    assert cose.protected[hcert.COSE_HEADER_KID] == signer.kid  # kid in the protected header
    assert cose.protected[hcert.COSE_HEADER_ALG] == hcert.ALG_ES256
    assert claims.issuer == "ID"
    assert claims.issued_at == NOW


def test_kid_is_first_8_bytes_of_sha256_of_der(signer: DocumentSigner) -> None:
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding

    der = signer.certificate.public_bytes(Encoding.DER)
    assert signer.kid == hashlib.sha256(der).digest()[:8]


def test_round_trip_ps256_with_rsa_signer() -> None:
    rsa_signer = _rsa_signer()
    text = _issue(rsa_signer)
    assert hcert.decode(text)[0].algorithm == hcert.ALG_PS256
    assert _verify(text, rsa_signer).valid


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: "HC2:" + t[4:], Reason.BAD_PREFIX),
        (lambda t: "HC1:" + t[4:] + "a", Reason.BASE45),
        (lambda t: "HC1:" + base45.b45encode(b"\x78\x9c" + b"not zlib").decode(), Reason.ZLIB),
        (lambda t: "HC1:" + base45.b45encode(zlib.compress(b"\xd2\xff")).decode(), Reason.CBOR),
        (
            lambda t: "HC1:" + base45.b45encode(zlib.compress(cbor2.dumps([1, 2]))).decode(),
            Reason.COSE_STRUCTURE,
        ),
    ],
    ids=["prefix", "base45", "zlib", "cbor", "cose-structure"],
)
def test_each_decoding_step_has_its_reason(
    signer: DocumentSigner, mangle: Callable[[str], str], reason: Reason
) -> None:
    result = _verify(mangle(_issue(signer)), signer)
    assert (result.valid, result.reason) == (False, reason)


def test_unknown_kid(signer: DocumentSigner) -> None:
    other = generate_development_signer("ID", NOW, timedelta(days=30))[0]
    result = _verify(_issue(other), signer)
    assert result.reason == Reason.UNKNOWN_KID
    assert result.dcc == DCC  # still decoded for the verifier to see


def test_tampered_payload_fails_the_signature(signer: DocumentSigner) -> None:
    cose, _ = hcert.decode(_issue(signer))
    message = cbor2.loads(zlib.decompress(base45.b45decode(_issue(signer)[4:])))
    claims = cbor2.loads(message.value[2])
    claims[hcert.CWT_HCERT][1]["nam"]["fnt"] = "SOMEONE<ELSE"
    forged = cbor2.CBORTag(18, [message.value[0], {}, cbor2.dumps(claims), message.value[3]])
    text = "HC1:" + base45.b45encode(zlib.compress(cbor2.dumps(forged))).decode()
    assert cose.kid == signer.kid
    assert _verify(text, signer).reason == Reason.SIGNATURE


def test_signature_by_a_key_with_the_same_kid_fails(signer: DocumentSigner) -> None:
    impostor = DocumentSigner(signer.certificate, ec.generate_private_key(ec.SECP256R1()))
    assert _verify(_issue(impostor), signer).reason == Reason.SIGNATURE


def test_expired_and_not_yet_valid(signer: DocumentSigner) -> None:
    text = _issue(signer, issued_at=NOW, expires_at=NOW + timedelta(days=1))
    assert _verify(text, signer, at=NOW + timedelta(days=2)).reason == Reason.EXPIRED
    assert _verify(text, signer, at=NOW - timedelta(hours=1)).reason == Reason.NOT_YET_VALID
    assert _verify(text, signer, at=NOW + timedelta(hours=1)).valid


def test_key_usage_restricts_the_certificate_type() -> None:
    test_only = _rsa_signer(["1.3.6.1.4.1.1847.2021.1.1"])
    result = _verify(_issue(test_only), test_only)
    assert result.reason == Reason.KEY_USAGE
    assert hcert.key_usage_types(test_only.certificate) == frozenset({"t"})
    unrestricted = _rsa_signer(["1.3.6.1.5.5.7.3.2"])  # an unrelated EKU restricts nothing
    assert hcert.key_usage_types(unrestricted.certificate) == frozenset({"v", "t", "r"})


def test_schema_and_value_set_problems_are_reported(signer: DocumentSigner) -> None:
    bad = {**DCC, "dob": "1815-01-01", "v": [{**DCC["v"][0], "mp": "Snake-Oil"}]}
    result = _verify(_issue(signer, bad), signer)
    assert result.reason == Reason.SCHEMA
    assert "dob" in result.detail and "v[0].mp" in result.detail
    assert "1815" not in result.detail  # field names, never personal values


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_standardised_names_follow_icao_9303(name: str) -> None:
    result = standardised_name(name)
    assert len(result) <= 80
    assert all(c == "<" or "A" <= c <= "Z" for c in result)
    assert not result.startswith("<") and not result.endswith("<")


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(categories=("Lu", "Ll")), min_size=2, max_size=20))
def test_holder_matches_its_own_certificate(word: str) -> None:
    holder = Holder(f"{word} Wijaya", date(1990, 4, 1))
    dcc = {"nam": {"fnt": standardised_name(holder.name)}, "dob": "1990-04-01"}
    assert holder_matches(holder, dcc)
    assert not holder_matches(holder, {**dcc, "dob": "1990-04-02"})
    assert holder_matches(holder, {**dcc, "dob": "1990"})  # a year-only dob is allowed
