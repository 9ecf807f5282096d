"""Recipients' contact details and language (from person.contact_changed and preferences)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Contact:
    phone_sealed: str | None
    language: str


_UPSERT_CONTACT = text(
    """
    INSERT INTO recipients (subject, phone_sealed, language, updated_at, language_updated_at)
    VALUES (:subject, :phone, :language, :at, :at)
    ON CONFLICT (subject) DO UPDATE
       SET phone_sealed = CASE WHEN recipients.updated_at <= excluded.updated_at
                             THEN excluded.phone_sealed ELSE recipients.phone_sealed END,
           language = CASE WHEN recipients.language_updated_at <= excluded.language_updated_at
                           THEN excluded.language ELSE recipients.language END,
           updated_at = greatest(recipients.updated_at, excluded.updated_at),
           language_updated_at = greatest(recipients.language_updated_at,
                                          excluded.language_updated_at)
    """
)

# A recipient known only by a preference has no phone yet: any contact event may set it.
_UPSERT_LANGUAGE = text(
    """
    INSERT INTO recipients (subject, language, updated_at, language_updated_at)
    VALUES (:subject, :language, '-infinity', now())
    ON CONFLICT (subject) DO UPDATE
       SET language = excluded.language, language_updated_at = now()
    RETURNING language
    """
)


async def upsert_contact(
    session: AsyncSession, subject: str, phone: str, language: str, at: datetime
) -> None:
    """Record a person's phone and language; each is kept if a newer change is recorded."""
    await session.execute(
        _UPSERT_CONTACT, {"subject": subject, "phone": phone, "language": language, "at": at}
    )


async def set_language(session: AsyncSession, subject: str, language: str) -> str:
    return str(
        (
            await session.execute(_UPSERT_LANGUAGE, {"subject": subject, "language": language})
        ).scalar_one()
    )


async def get_contact(session: AsyncSession, subject: str) -> Contact | None:
    row = (
        await session.execute(
            text("SELECT phone_sealed, language FROM recipients WHERE subject = :s"), {"s": subject}
        )
    ).first()
    return Contact(row[0], row[1]) if row else None


async def contacts(session: AsyncSession, subjects: Sequence[str]) -> dict[str, Contact]:
    rows = await session.execute(
        text(
            "SELECT subject, phone_sealed, language FROM recipients "
            "WHERE subject = ANY(CAST(:subjects AS text[]))"
        ),
        {"subjects": list(subjects)},
    )
    return {r[0]: Contact(r[1], r[2]) for r in rows}


# --- the venue copy -------------------------------------------------------------------------


@dataclass(frozen=True)
class VenueCopy:
    name: str
    manager_id: str
    timezone: str


async def upsert_venue(
    session: AsyncSession,
    venue_id: object,
    name: str,
    manager_id: str,
    timezone: str,
    updated_at: datetime,
) -> None:
    await session.execute(
        text(
            """
            INSERT INTO venues (venue_id, name, manager_id, timezone, updated_at)
            VALUES (:venue_id, :name, :manager_id, :timezone, :updated_at)
            ON CONFLICT (venue_id) DO UPDATE
               SET name = excluded.name, manager_id = excluded.manager_id,
                   timezone = excluded.timezone, updated_at = excluded.updated_at
             WHERE venues.updated_at <= excluded.updated_at
            """
        ),
        {
            "venue_id": venue_id,
            "name": name,
            "manager_id": manager_id,
            "timezone": timezone,
            "updated_at": updated_at,
        },
    )


async def get_venue(session: AsyncSession, venue_id: object) -> VenueCopy | None:
    row = (
        await session.execute(
            text("SELECT name, manager_id, timezone FROM venues WHERE venue_id = :v"),
            {"v": venue_id},
        )
    ).first()
    return VenueCopy(row[0], row[1], row[2]) if row else None
