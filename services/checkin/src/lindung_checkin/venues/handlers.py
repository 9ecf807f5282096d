"""Keeps the local copy of the registry's venues (``lindung.venues``); the SQL is in
:mod:`lindung_checkin.venues.repository`."""

from __future__ import annotations

from typing import Any

from lindung_shared.events import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_checkin.venues.repository import close_venue, upsert_venue


async def on_venue_snapshot(session: AsyncSession, envelope: Envelope[Any]) -> None:
    await upsert_venue(session, envelope.payload)


async def on_venue_closed(session: AsyncSession, envelope: Envelope[Any]) -> None:
    await close_venue(session, envelope.payload)
