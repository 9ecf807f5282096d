"""Signed QR codes, one live code per entrance, and their revocation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lindung_shared import outbox
from lindung_shared.auth import Principal
from lindung_shared.errors import Conflict, NotFound, Problem, Unprocessable
from lindung_shared.events import make_event
from lindung_shared.events.catalogue import QrCodeIssued, QrCodeRevoked
from lindung_shared.qr import sign_qr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_venues.clock import utcnow
from lindung_venues.models import QrCode, Venue
from lindung_venues.qr_codes.repository import QrCodeRepository
from lindung_venues.qr_keys import service as keys
from lindung_venues.qr_keys.vault import KeyVault
from lindung_venues.venues import service as venues


class Gone(Problem):
    status, code, title = 410, "gone", "Gone"


@dataclass(frozen=True)
class IssuedCode:
    code: QrCode
    key_status: str


async def issue(
    session: AsyncSession,
    vault: KeyVault,
    manager: Principal,
    venue_id: uuid.UUID,
    entrance: str,
) -> QrCode:
    venue = await venues.load(session, venue_id, for_update=True)
    venues.ensure_owner(manager, venue)
    venues.ensure_active(venue)
    if entrance not in venue.entrances:
        raise Unprocessable(
            f"the venue has no entrance {entrance!r}; its entrances are: "
            + ", ".join(venue.entrances),
            code="unknown-entrance",
            extra={"entrances": list(venue.entrances)},
        )
    repo = QrCodeRepository(session)
    now = utcnow()
    existing = await repo.live_for_entrance(venue.id, entrance)
    if existing is not None:
        if await repo.key_status(existing.key_id) != "retired":
            raise _already_issued(existing)
        # Its key was retired, so the code no longer verifies: replace it without making
        # the manager revoke a code that is already dead.
        await _mark_revoked(session, existing, now)
    key_id, private_key = await keys.signing_key(session, vault)
    qr_id = uuid.uuid4()
    code = QrCode(
        id=qr_id,
        venue_id=venue.id,
        entrance=entrance,
        key_id=key_id,
        payload=sign_qr(
            private_key,
            key_id,
            venue_id=venue.id,
            entrance=entrance,
            qr_id=qr_id,
            issued_at=int(now.timestamp()),
        ),
        issued_at=now,
    )
    try:
        await repo.add(code)
    except IntegrityError as exc:  # a concurrent request issued one for the same entrance
        raise Conflict(
            f"entrance {entrance!r} already has a live QR code", code="qr-code-exists"
        ) from exc
    await outbox.add_events(
        session,
        [
            make_event(
                "qr_code.issued",
                QrCodeIssued(
                    qr_id=qr_id, venue_id=venue.id, entrance=entrance, key_id=key_id, issued_at=now
                ),
            )
        ],
    )
    return code


def _already_issued(existing: QrCode) -> Conflict:
    return Conflict(
        f"entrance {existing.entrance!r} already has a live QR code; revoke it to issue a new one",
        code="qr-code-exists",
        extra={"qr_id": str(existing.id)},
    )


async def list_codes(
    session: AsyncSession, principal: Principal, venue_id: uuid.UUID, *, include_revoked: bool
) -> Sequence[IssuedCode]:
    venue = await venues.load(session, venue_id)
    venues.ensure_can_read(principal, venue)
    rows = await QrCodeRepository(session).of_venue(venue.id, include_revoked=include_revoked)
    return [IssuedCode(code, status) for code, status in rows]


async def printable(
    session: AsyncSession, principal: Principal, venue_id: uuid.UUID, qr_id: uuid.UUID
) -> tuple[Venue, QrCode]:
    """A code that may still go on a poster: known, not revoked, its key not retired."""
    venue = await venues.load(session, venue_id)
    venues.ensure_can_read(principal, venue)
    repo = QrCodeRepository(session)
    code = await _known(repo, venue_id, qr_id)
    if code.revoked_at is not None:
        raise _revoked(qr_id)
    if venue.status != "active":
        raise Conflict("this venue is closed; its QR codes no longer work", code="venue-closed")
    if await repo.key_status(code.key_id) == "retired":
        raise Gone(
            "the key that signed this QR code is retired; issue a new code for the entrance",
            code="qr-key-retired",
        )
    return venue, code


async def revoke(
    session: AsyncSession, manager: Principal, venue_id: uuid.UUID, qr_id: uuid.UUID
) -> QrCode:
    venue = await venues.load(session, venue_id, for_update=True)
    venues.ensure_owner(manager, venue)
    repo = QrCodeRepository(session)
    code = await _known(repo, venue_id, qr_id, for_update=True)
    if code.revoked_at is not None:
        raise _revoked(qr_id)
    await _mark_revoked(session, code, utcnow())
    return code


async def _mark_revoked(session: AsyncSession, code: QrCode, now: datetime) -> None:
    code.revoked_at = now
    await session.flush()
    await outbox.add_events(
        session,
        [
            make_event(
                "qr_code.revoked",
                QrCodeRevoked(qr_id=code.id, venue_id=code.venue_id, revoked_at=now),
            )
        ],
    )


async def _known(
    repo: QrCodeRepository, venue_id: uuid.UUID, qr_id: uuid.UUID, *, for_update: bool = False
) -> QrCode:
    code = await repo.get(venue_id, qr_id, for_update=for_update)
    if code is None:
        raise NotFound(f"the venue has no QR code {qr_id}", code="qr-code-not-found")
    return code


def _revoked(qr_id: uuid.UUID) -> Gone:
    return Gone(f"QR code {qr_id} has been revoked", code="qr-code-revoked")
