"""The trust list of document signer certificates (DSCs), and our own signing keys.

- Our own DSC signs the certificates we issue. In development it is generated on first use
  under a generated development CSCA; elsewhere it comes from the settings (certificate PEM
  and encrypted key PEM). Its private key is stored encrypted (PKCS#8, with the
  ``HEALTH_DCC_SIGNER_KEY_PASSPHRASE`` setting). Rotation makes a new one active; old ones
  stay in the trust list so that what they signed still verifies.
- Foreign DSCs are loaded by health officers, so foreign certificates verify offline; one
  is accepted only with a chain to a configured country signing CA (CSCA,
  ``HEALTH_DCC_CSCA_PEM`` / ``HEALTH_DCC_CSCA_PATH``) of the same country, valid now (the DSC
  and the CSCA), and not itself a CA: an officer cannot make the service trust a key of their
  own. The chain is checked with ``cryptography``'s X.509 path validation.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from lindung_shared.errors import Conflict, Problem, Unprocessable
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.certificates import repository
from lindung_health.certificates.hcert import (
    KEY_USAGE_OIDS,
    DocumentSigner,
    SignerKey,
    key_id,
    key_usage_types,
)
from lindung_health.certificates.models import DocumentSignerRecord
from lindung_health.certificates.settings import CertificateSettings


class NoDocumentSigner(Problem):
    status, code, title = 503, "no-document-signer", "No document signer configured"


class InvalidSignerCertificate(Unprocessable):
    code = "invalid-signer-certificate"


# --- certificates and keys ------------------------------------------------------------------


def parse_certificate(text: str) -> x509.Certificate:
    """A certificate given as PEM, or as base64 of its DER."""
    data = text.strip()
    try:
        if data.startswith("-----BEGIN"):
            return x509.load_pem_x509_certificate(data.encode("ascii"))
        return x509.load_der_x509_certificate(base64.b64decode(data, validate=False))
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidSignerCertificate("the certificate is neither PEM nor base64 DER") from exc


def subject_country(certificate: x509.Certificate) -> str | None:
    values = certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(values[0].value) if values else None


def encrypt_private_key(key: SignerKey, passphrase: str) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )


def decrypt_private_key(data: bytes, passphrase: str) -> SignerKey:
    key = serialization.load_pem_private_key(data, password=passphrase.encode())
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("a document signer key must be EC or RSA")
    return key


def _name(common_name: str, country: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lindung (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class Csca:
    """A country signing CA with its key (development and tests only)."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def generate_development_csca(country: str, now: datetime, validity: timedelta) -> Csca:
    """A fresh EC P-256 CSCA (never used outside development and the tests)."""
    csca_key = ec.generate_private_key(ec.SECP256R1())
    csca_name = _name(f"Lindung Development CSCA {country}", country)
    csca = (
        x509.CertificateBuilder()
        .subject_name(csca_name)
        .issuer_name(csca_name)
        .public_key(csca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(csca_key, hashes.SHA256())
    )
    return Csca(csca, csca_key)


def issue_development_signer(
    csca: Csca, now: datetime, validity: timedelta, *, not_before: datetime | None = None
) -> DocumentSigner:
    """A fresh EC P-256 DSC issued by ``csca`` (of the CSCA's country)."""
    country = subject_country(csca.certificate) or "ID"
    dsc_key = ec.generate_private_key(ec.SECP256R1())
    usage = [x509.ObjectIdentifier(sorted(oids)[0]) for oids in KEY_USAGE_OIDS.values()]
    dsc = (
        x509.CertificateBuilder()
        .subject_name(_name(f"Lindung Development DSC {now:%Y%m%d%H%M%S%f}", country))
        .issuer_name(csca.certificate.subject)
        .public_key(dsc_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .sign(csca.key, hashes.SHA256())
    )
    return DocumentSigner(dsc, dsc_key)


def generate_development_signer(
    country: str, now: datetime, validity: timedelta
) -> tuple[DocumentSigner, x509.Certificate]:
    """A fresh EC P-256 DSC under a fresh development CSCA (never used outside development)."""
    csca = generate_development_csca(country, now, validity * 2)
    return issue_development_signer(csca, now, validity), csca.certificate


def _record_values(
    certificate: x509.Certificate, *, country: str, origin: str, added_by: str
) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "kid": key_id(certificate),
        "country": country,
        "origin": origin,
        "certificate_der": certificate.public_bytes(serialization.Encoding.DER),
        "subject": certificate.subject.rfc4514_string(),
        "not_before": certificate.not_valid_before_utc,
        "not_after": certificate.not_valid_after_utc,
        "key_usage": sorted(key_usage_types(certificate)),
        "added_by": added_by,
    }


# --- our own signer -------------------------------------------------------------------------


@dataclass
class Keyring:
    """Decrypted own signing keys, by trust-list id (decrypting is deliberately slow)."""

    settings: CertificateSettings
    _signers: dict[uuid.UUID, DocumentSigner] = field(default_factory=dict)

    def signer(self, record: DocumentSignerRecord) -> DocumentSigner:
        found = self._signers.get(record.id)
        if found is None:
            if record.private_key_encrypted is None:
                raise NoDocumentSigner("our document signer has no private key")
            passphrase = self.settings.signer_key_passphrase.get_secret_value()
            found = DocumentSigner(
                x509.load_der_x509_certificate(record.certificate_der),
                decrypt_private_key(record.private_key_encrypted, passphrase),
            )
            self._signers[record.id] = found
        return found


async def _install_own_signer(
    session: AsyncSession, settings: CertificateSettings, now: datetime, added_by: str
) -> DocumentSignerRecord:
    passphrase = settings.signer_key_passphrase.get_secret_value()
    issuer: x509.Certificate | None = None
    if settings.signer_certificate_pem and settings.signer_private_key_pem:
        certificate = x509.load_pem_x509_certificate(settings.signer_certificate_pem.encode())
        encrypted = settings.signer_private_key_pem.get_secret_value().encode()
        decrypt_private_key(encrypted, passphrase)  # refuse a key the passphrase does not open
        existing = await repository.signer_by_certificate(
            session, certificate.public_bytes(serialization.Encoding.DER)
        )
        if existing is not None:
            await repository.deactivate_own_signers(session)
            existing.active = True
            await session.flush()
            return existing
    elif settings.is_development:
        signer, issuer = generate_development_signer(
            settings.issuer_country, now, timedelta(days=settings.signer_validity_days)
        )
        certificate = signer.certificate
        encrypted = encrypt_private_key(signer.private_key, passphrase)
    else:
        raise NoDocumentSigner(
            "set HEALTH_DCC_SIGNER_CERT_PEM and HEALTH_DCC_SIGNER_KEY_PEM to issue certificates"
        )
    await repository.deactivate_own_signers(session)
    values = _record_values(
        certificate, country=settings.issuer_country, origin="own", added_by=added_by
    )
    values.update(
        private_key_encrypted=encrypted,
        active=True,
        issuer_certificate_der=(
            issuer.public_bytes(serialization.Encoding.DER) if issuer is not None else None
        ),
    )
    created = await repository.add_signer(session, values)
    record = await repository.signer(session, created) if created else None
    if record is None:
        raise Conflict("this document signer is already in the trust list")
    return record


async def own_signer(
    session: AsyncSession, settings: CertificateSettings, now: datetime
) -> DocumentSignerRecord:
    """Our active document signer; made (development) or installed on first use, and renewed
    when it has less than a tenth of its life left."""
    current = await repository.active_own_signer(session)
    if current is not None and current.not_after - now > _renewal_margin(current):
        return current
    await repository.lock_own_signer(session)
    current = await repository.active_own_signer(session)
    if current is not None and current.not_after - now > _renewal_margin(current):
        return current
    return await _install_own_signer(session, settings, now, added_by="system")


def _renewal_margin(record: DocumentSignerRecord) -> timedelta:
    return (record.not_after - record.not_before) / 10


async def rotate_own_signer(
    session: AsyncSession, settings: CertificateSettings, now: datetime, added_by: str
) -> DocumentSignerRecord:
    """Make a new own signer active; the previous ones stay trusted until they expire."""
    await repository.lock_own_signer(session)
    return await _install_own_signer(session, settings, now, added_by=added_by)


# --- foreign signers and look-ups -----------------------------------------------------------


#: A CSCA must at least say it is a CA (cryptography refuses a CA policy without it); the
#: rest of the profile (DCC CSCAs are not web PKI certificates) is not imposed.
_CA_POLICY = ExtensionPolicy.permit_all().require_present(
    x509.BasicConstraints, Criticality.AGNOSTIC, None
)


def check_chain(
    certificate: x509.Certificate, cscas: list[x509.Certificate], country: str, now: datetime
) -> x509.Certificate:
    """The CSCA ``certificate`` chains to, or :class:`InvalidSignerCertificate`: a DSC is
    accepted only when signed by a configured CSCA of ``country``, both valid at ``now``, and
    when it is not a CA itself (a CSCA is no document signer)."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        pass
    else:
        if constraints.value.ca:
            raise InvalidSignerCertificate("a CA certificate is not a document signer")
    if not (certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc):
        raise InvalidSignerCertificate(
            f"the certificate is valid from {certificate.not_valid_before_utc:%Y-%m-%d} to "
            f"{certificate.not_valid_after_utc:%Y-%m-%d}, not now",
            code="signer-not-valid-now",
        )
    anchors = [c for c in cscas if (subject_country(c) or "").upper() == country.upper()]
    if not anchors:
        raise InvalidSignerCertificate(
            f"no country signing CA of {country.upper()} is loaded: its document signers "
            "cannot be trusted",
            code="signer-not-chained",
        )
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(now)
        .max_chain_depth(1)
        .extension_policies(ca_policy=_CA_POLICY, ee_policy=ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    try:
        chain = verifier.verify(certificate, []).chain
    except VerificationError as exc:
        raise InvalidSignerCertificate(
            f"the certificate does not chain to a country signing CA of {country.upper()} "
            f"valid now ({exc})",
            code="signer-not-chained",
        ) from None
    if len(chain) < 2:  # the leaf is itself one of the anchors
        raise InvalidSignerCertificate("a CA certificate is not a document signer")
    return chain[-1]


async def add_foreign_signer(
    session: AsyncSession,
    certificate: x509.Certificate,
    country: str,
    added_by: str,
    *,
    cscas: list[x509.Certificate],
    now: datetime,
) -> tuple[DocumentSignerRecord, bool]:
    """Load a foreign DSC into the trust list, when it chains to a configured CSCA of its
    country (:func:`check_chain`); returns it and whether it is new."""
    if not isinstance(certificate.public_key(), ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise InvalidSignerCertificate("a document signer's key must be EC or RSA")
    stated = subject_country(certificate)
    if stated and stated.upper() != country.upper():
        raise InvalidSignerCertificate(
            f"the certificate names country {stated}, not {country.upper()}"
        )
    issuer = check_chain(certificate, cscas, country, now)
    values = _record_values(
        certificate, country=country.upper(), origin="foreign", added_by=added_by
    )
    values["issuer_certificate_der"] = issuer.public_bytes(serialization.Encoding.DER)
    created = await repository.add_signer(session, values)
    der = certificate.public_bytes(serialization.Encoding.DER)
    record = await repository.signer_by_certificate(session, der)
    assert record is not None
    return record, created is not None


async def trusted_certificates(session: AsyncSession, kid: bytes) -> list[x509.Certificate]:
    """The trusted DSCs with this key id (usually one; 8-byte ids may collide)."""
    return [
        x509.load_der_x509_certificate(r.certificate_der)
        for r in await repository.signers_with_kid(session, kid)
    ]
