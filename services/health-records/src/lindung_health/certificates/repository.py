"""SQL of the certificates feature."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.certificates.models import (
    DocumentSignerRecord,
    ForeignCertificate,
    IssuedCertificate,
)
from lindung_health.models import HealthRecord, Person

# Serialises the creation of our own signer (two first requests must not make two).
_OWN_SIGNER_LOCK = 0x44434301


async def lock_own_signer(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OWN_SIGNER_LOCK})


async def active_own_signer(session: AsyncSession) -> DocumentSignerRecord | None:
    stmt = select(DocumentSignerRecord).where(
        DocumentSignerRecord.origin == "own", DocumentSignerRecord.active.is_(True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def deactivate_own_signers(session: AsyncSession) -> None:
    await session.execute(
        update(DocumentSignerRecord)
        .where(DocumentSignerRecord.origin == "own", DocumentSignerRecord.active.is_(True))
        .values(active=False)
    )


async def add_signer(session: AsyncSession, values: dict[str, object]) -> uuid.UUID | None:
    """Insert a trust-list entry unless that very certificate is already there."""
    stmt = (
        insert(DocumentSignerRecord)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[DocumentSignerRecord.certificate_der])
        .returning(DocumentSignerRecord.id)
    )
    created: uuid.UUID | None = (await session.execute(stmt)).scalar_one_or_none()
    return created


async def signer(session: AsyncSession, signer_id: uuid.UUID) -> DocumentSignerRecord | None:
    return await session.get(DocumentSignerRecord, signer_id)


async def signer_by_certificate(session: AsyncSession, der: bytes) -> DocumentSignerRecord | None:
    stmt = select(DocumentSignerRecord).where(DocumentSignerRecord.certificate_der == der)
    return (await session.execute(stmt)).scalar_one_or_none()


async def signers_with_kid(session: AsyncSession, kid: bytes) -> Sequence[DocumentSignerRecord]:
    stmt = select(DocumentSignerRecord).where(DocumentSignerRecord.kid == kid)
    return (await session.execute(stmt)).scalars().all()


async def trust_list(
    session: AsyncSession, *, country: str | None, limit: int, offset: int
) -> Sequence[DocumentSignerRecord]:
    stmt = select(DocumentSignerRecord).order_by(
        DocumentSignerRecord.country, DocumentSignerRecord.added_at, DocumentSignerRecord.id
    )
    if country:
        stmt = stmt.where(DocumentSignerRecord.country == country)
    return (await session.execute(stmt.limit(limit).offset(offset))).scalars().all()


async def person(session: AsyncSession, person_id: uuid.UUID) -> Person | None:
    return await session.get(Person, person_id)


async def records_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[HealthRecord]:
    stmt = (
        select(HealthRecord)
        .where(HealthRecord.person_id == person_id, HealthRecord.retracted.is_(False))
        .order_by(HealthRecord.occurred_at, HealthRecord.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def issued_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[IssuedCertificate]:
    stmt = select(IssuedCertificate).where(IssuedCertificate.person_id == person_id)
    return (await session.execute(stmt)).scalars().all()


async def issued(session: AsyncSession, certificate_id: uuid.UUID) -> IssuedCertificate | None:
    return await session.get(IssuedCertificate, certificate_id)


async def upsert_issued(session: AsyncSession, values: dict[str, object]) -> None:
    stmt = insert(IssuedCertificate).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[IssuedCertificate.record_id, IssuedCertificate.certificate_type],
        set_={
            k: stmt.excluded[k]
            for k in ("id", "uvci", "signer_id", "fingerprint", "hc1", "issued_at", "expires_at")
        },
    )
    await session.execute(stmt)


async def delete_issued(session: AsyncSession, certificate_ids: Sequence[uuid.UUID]) -> None:
    if certificate_ids:
        await session.execute(
            delete(IssuedCertificate).where(IssuedCertificate.id.in_(certificate_ids))
        )


async def uvci_held_by_another(session: AsyncSession, uvci: str, person_id: uuid.UUID) -> bool:
    """Whether another person holds this UVCI. Takes a transaction-scoped lock on the UVCI
    first, so that two people attaching the same certificate at once cannot both pass."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"dcc-foreign-uvci:{uvci}"},
    )
    stmt = (
        select(ForeignCertificate.id)
        .where(ForeignCertificate.uvci == uvci, ForeignCertificate.person_id != person_id)
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


async def attach_foreign(session: AsyncSession, values: dict[str, object]) -> uuid.UUID | None:
    stmt = (
        insert(ForeignCertificate)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[ForeignCertificate.person_id, ForeignCertificate.uvci]
        )
        .returning(ForeignCertificate.id)
    )
    created: uuid.UUID | None = (await session.execute(stmt)).scalar_one_or_none()
    return created


async def foreign_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[ForeignCertificate]:
    stmt = (
        select(ForeignCertificate)
        .where(ForeignCertificate.person_id == person_id)
        .order_by(ForeignCertificate.attached_at, ForeignCertificate.id)
    )
    return (await session.execute(stmt)).scalars().all()


async def foreign(
    session: AsyncSession, person_id: uuid.UUID, uvci: str
) -> ForeignCertificate | None:
    stmt = select(ForeignCertificate).where(
        ForeignCertificate.person_id == person_id, ForeignCertificate.uvci == uvci
    )
    return (await session.execute(stmt)).scalar_one_or_none()
