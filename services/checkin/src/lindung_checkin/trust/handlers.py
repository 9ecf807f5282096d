"""Consumers of the registry's keys and revocations (thin: decode, then one statement of
:mod:`lindung_checkin.trust.repository`)."""

from __future__ import annotations

from typing import Any

from lindung_shared.events import Envelope
from lindung_shared.events.catalogue import QrCodeRevoked, QrKeyPublished, QrKeyRetired
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_checkin.trust import repository


async def on_key_published(session: AsyncSession, envelope: Envelope[Any]) -> None:
    p: QrKeyPublished = envelope.payload
    await repository.store_key(session, p.key_id, p.jwk, p.status, p.published_at)


async def on_key_retired(session: AsyncSession, envelope: Envelope[Any]) -> None:
    p: QrKeyRetired = envelope.payload
    await repository.retire_key(session, p.key_id, p.retired_at)


async def on_qr_revoked(session: AsyncSession, envelope: Envelope[Any]) -> None:
    p: QrCodeRevoked = envelope.payload
    await repository.revoke_code(session, p.qr_id, p.venue_id, p.revoked_at)
