"""Certificates: verify any HCERT against the trust list, issue a person's certificates from
their health records, attach verified foreign certificates. Services flush, never commit."""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio.to_thread
from cryptography import x509
from lindung_shared.errors import NotFound, Problem, Unprocessable
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.certificates import hcert, repository, trust
from lindung_health.certificates.issuing import (
    Holder,
    NotIssuable,
    RecordFacts,
    draft_certificate,
    holder_matches,
)
from lindung_health.certificates.models import (
    DocumentSignerRecord,
    ForeignCertificate,
    IssuedCertificate,
)
from lindung_health.certificates.qr import UnreadableImage, read_qr
from lindung_health.certificates.settings import CertificateSettings
from lindung_health.people.contact import name_of
from lindung_health.people.protection import NikProtector

NO_QR_CODE = "no-qr-code"

#: A certificate is signed anew when less than this is left of it (or its content changed).
REISSUE_MARGIN = timedelta(days=7)


@dataclass
class Checked:
    """A verification, with the trust-list entry that signed it (when there is one)."""

    verification: hcert.Verification
    signer_country: str | None = None
    signer_subject: str | None = None


def payload_from(hc1: str | None, image: bytes | None) -> str:
    """The ``HC1:`` text to verify: given as is (at most 8,000 characters, however it was
    sent), or read from the QR in an image (CPU-heavy: call it in a worker thread)."""
    if hc1:
        if len(hc1) > hcert.MAX_HC1_CHARS:
            raise Unprocessable(f"hc1 is longer than {hcert.MAX_HC1_CHARS} characters")
        return hc1
    if image is None:
        raise Unprocessable("give an HC1 string (hc1) or a QR image (image or image_base64)")
    try:
        return read_qr(image)
    except UnreadableImage as exc:
        raise Problem(str(exc), status=422, code=NO_QR_CODE, title="No QR code") from exc


def decode_base64_image(data: str) -> bytes:
    try:
        return base64.b64decode(data.split(",", 1)[-1], validate=False)
    except (binascii.Error, ValueError) as exc:
        raise Unprocessable("image_base64 is not base64") from exc


async def verify_payload(session: AsyncSession, hc1: str, now: datetime) -> Checked:
    """Verify ``hc1`` at ``now`` against every trusted document signer (ours and foreign).
    It is decoded once (inflation capped), and decoding and signature checks run in a
    worker thread, off the event loop."""
    try:
        decoded = await anyio.to_thread.run_sync(hcert.decode, hc1)
    except hcert.HcertError as exc:
        return Checked(hcert.Verification(valid=False, reason=exc.reason, detail=exc.detail))
    kid = decoded[0].kid
    records = await repository.signers_with_kid(session, kid) if kid else []
    certificates = [x509.load_der_x509_certificate(r.certificate_der) for r in records]
    result = await anyio.to_thread.run_sync(
        functools.partial(
            hcert.verify, hc1, signers=lambda _: certificates, at=now, decoded=decoded
        )
    )
    checked = Checked(result)
    if result.signer is not None:
        for record, certificate in zip(records, certificates, strict=True):
            if certificate == result.signer:
                checked.signer_country, checked.signer_subject = record.country, record.subject
    return checked


async def trust_list(
    session: AsyncSession, *, country: str | None, limit: int, offset: int
) -> Sequence[DocumentSignerRecord]:
    return await repository.trust_list(session, country=country, limit=limit, offset=offset)


async def signer_kids(session: AsyncSession, signer_ids: set[uuid.UUID]) -> dict[uuid.UUID, bytes]:
    kids: dict[uuid.UUID, bytes] = {}
    for signer_id in signer_ids:
        record = await repository.signer(session, signer_id)
        if record is not None:
            kids[signer_id] = record.kid
    return kids


# --- issuing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyCertificatesResult:
    issued: list[IssuedCertificate]
    foreign: list[ForeignCertificate]
    skipped: list[tuple[uuid.UUID, str]]


async def certificates_of(
    session: AsyncSession,
    settings: CertificateSettings,
    keyring: trust.Keyring,
    protector: NikProtector,
    person_id: uuid.UUID,
    now: datetime,
) -> MyCertificatesResult:
    """The person's certificates, signed (again) where their records or our key changed."""
    person = await repository.person(session, person_id)
    if person is None:
        raise NotFound("no person is registered with this id")
    holder = Holder(name_of(protector, person), person.birth_date)
    existing = {
        (c.record_id, c.certificate_type): c for c in await repository.issued_of(session, person_id)
    }
    signer_record = None
    wanted: set[tuple[uuid.UUID, str]] = set()
    skipped: list[tuple[uuid.UUID, str]] = []
    for record in await repository.records_of(session, person_id):
        facts = RecordFacts(
            id=record.id,
            kind=record.kind,
            occurred_at=record.occurred_at,
            retracted=record.retracted,
            vaccine_system=record.vaccine_system,
            vaccine_code=record.vaccine_code,
            dose_number=record.dose_number,
            test_type=record.test_type,
            result=record.result,
        )
        try:
            draft = draft_certificate(
                holder,
                facts,
                country=settings.issuer_country,
                issuer=settings.issuer_name,
                now=now,
                vaccination_validity=timedelta(days=settings.vaccination_validity_days),
            )
        except NotIssuable as exc:
            skipped.append((record.id, str(exc)))
            continue
        key = (record.id, draft.certificate_type)
        wanted.add(key)
        if signer_record is None:
            signer_record = await trust.own_signer(session, settings, now)
        current = existing.get(key)
        if (
            current is not None
            and current.fingerprint == draft.fingerprint
            and current.signer_id == signer_record.id
            and current.expires_at - now
            > min(REISSUE_MARGIN, (current.expires_at - current.issued_at) / 2)
        ):
            continue
        signer = keyring.signer(signer_record)
        expires = min(draft.expires_at, signer.certificate.not_valid_after_utc)
        hc1 = hcert.encode(
            draft.dcc,
            signer=signer,
            issuer=settings.issuer_country,
            issued_at=now,
            expires_at=expires,
        )
        await repository.upsert_issued(
            session,
            {
                "id": uuid.uuid4(),
                "person_id": person_id,
                "record_id": record.id,
                "certificate_type": draft.certificate_type,
                "uvci": draft.uvci,
                "signer_id": signer_record.id,
                "fingerprint": draft.fingerprint,
                "hc1": hc1,
                "issued_at": now,
                "expires_at": expires,
            },
        )
    # certificates whose record no longer makes one (retracted, corrected) are withdrawn
    await repository.delete_issued(session, [c.id for k, c in existing.items() if k not in wanted])
    await session.flush()
    session.expire_all()
    issued = sorted(
        await repository.issued_of(session, person_id), key=lambda c: (c.issued_at, c.uvci)
    )
    foreign = list(await repository.foreign_of(session, person_id))
    return MyCertificatesResult(issued, foreign, skipped)


async def my_certificate(
    session: AsyncSession, person_id: uuid.UUID, certificate_id: uuid.UUID
) -> IssuedCertificate:
    found = await repository.issued(session, certificate_id)
    if found is None or found.person_id != person_id:
        raise NotFound("you have no certificate with this id")
    return found


# --- foreign certificates -------------------------------------------------------------------


class CertificateRejected(Problem):
    status, code, title = 422, "certificate-rejected", "The certificate does not verify"


class UvciTaken(Problem):
    status, code, title = 409, "uvci-attached", "The certificate is attached to someone else"


class HolderMismatch(Problem):
    status, code, title = 422, "holder-mismatch", "The certificate belongs to someone else"


async def attach_foreign(
    session: AsyncSession, protector: NikProtector, person_id: uuid.UUID, hc1: str, now: datetime
) -> tuple[ForeignCertificate, bool]:
    """Verify ``hc1`` and attach it to the person; returns it and whether it is new."""
    person = await repository.person(session, person_id)
    if person is None:
        raise NotFound("no person is registered with this id")
    checked = await verify_payload(session, hc1, now)
    result = checked.verification
    if not result.valid or result.claims is None or result.kid is None:
        raise CertificateRejected(
            f"the certificate is not valid ({result.reason.value}): {result.detail}",
            extra={"reason": result.reason.value},
        )
    dcc = result.claims.dcc
    if not holder_matches(Holder(name_of(protector, person), person.birth_date), dcc):
        raise HolderMismatch(
            "the name or date of birth on the certificate does not match your registration"
        )
    kind = result.certificate_type
    assert kind is not None
    uvci = str(dcc[kind][0].get("ci", ""))
    # One certificate, one person: the holder check matches only a birth date and a name
    # part, which many people share.
    if await repository.uvci_held_by_another(session, uvci, person_id):
        raise UvciTaken("this certificate (its UVCI) is already attached to another person")
    created = await repository.attach_foreign(
        session,
        {
            "id": uuid.uuid4(),
            "person_id": person_id,
            "uvci": uvci,
            "certificate_type": kind,
            "issuer_country": result.claims.issuer or checked.signer_country,
            "kid": result.kid,
            "hc1": hc1.strip(),
            "dcc": dcc,
            "issued_at": result.claims.issued_at,
            "expires_at": result.claims.expires_at,
            "attached_at": now,
        },
    )
    stored = await repository.foreign(session, person_id, uvci)
    assert stored is not None
    if created is not None:
        await _recompute_status(session, person_id, now)
    return stored, created is not None


async def _recompute_status(session: AsyncSession, person_id: uuid.UUID, now: datetime) -> None:
    """Let the screening status see the new certificate (it reads them through
    :func:`lindung_health.certificates.status.foreign_decision_inputs`)."""
    from lindung_health.screening import service as screening

    person = await repository.person(session, person_id)
    if person is None:
        return
    # with no rule in force yet, the status is computed when one is published
    with contextlib.suppress(screening.NoRuleInForce):
        await screening.recompute(session, person, now, sync=False)
