"""SQL of people."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_health.models import HealthRecord, Person


async def get(session: AsyncSession, person_id: uuid.UUID) -> Person | None:
    return await session.get(Person, person_id)


async def by_nik_hash(session: AsyncSession, nik_hash: bytes) -> Person | None:
    stmt = select(Person).where(Person.nik_hash == nik_hash)
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_phone(session: AsyncSession, phone_hash: bytes) -> Sequence[Person]:
    stmt = select(Person).where(Person.phone_hash == phone_hash).limit(10)
    return (await session.execute(stmt)).scalars().all()


async def insert_if_new(session: AsyncSession, values: dict[str, object]) -> uuid.UUID | None:
    """Insert a person unless the NIK is already registered (concurrent registrations of one
    NIK create one person); returns the new id or None."""
    stmt = (
        insert(Person)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Person.nik_hash])
        .returning(Person.id)
    )
    created: uuid.UUID | None = (await session.execute(stmt)).scalar_one_or_none()
    return created


async def link_records(session: AsyncSession, person_id: uuid.UUID, nik_hash: bytes) -> int:
    """Attach the records that arrived before the person registered."""
    result = await session.execute(
        update(HealthRecord)
        .where(HealthRecord.nik_hash == nik_hash, HealthRecord.person_id.is_(None))
        .values(person_id=person_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def lock_phone(session: AsyncSession, phone_hash: bytes) -> None:
    """Serialise, until the transaction ends, everything that binds people to this phone (the
    per-phone limit holds under concurrent registrations)."""
    await session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtextextended('phone:' || encode(:phone, 'hex'), 12))"
        ),
        {"phone": phone_hash},
    )


async def verified_on_phone(session: AsyncSession, phone_hash: bytes) -> int:
    """How many people this phone holds (proven by a sign-in code)."""
    stmt = select(func.count()).where(
        Person.phone_hash == phone_hash, Person.phone_verified_at.is_not(None)
    )
    return int((await session.execute(stmt)).scalar_one())
