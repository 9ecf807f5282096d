"""Transaction-scoped advisory locks that serialise the registry's cross-row rules."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

#: Zone levels and capacity rules (exclusive) against venue writes (shared): a venue saved
#: while a level changes is either seen by the recomputation or computed with the new level.
CAPACITY_INPUTS = 0x56454E43  # "VENC"
#: QR signing keys: one writer at a time keeps exactly one active key.
QR_KEYS = 0x51524B45  # "QRKE"


async def exclusive(session: AsyncSession, key: int) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def shared(session: AsyncSession, key: int) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": key})
