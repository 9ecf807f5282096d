"""QR signing keys: creation, rotation, retirement and the published public keys.

Exactly one key is active (it signs new codes); rotated-out keys are ``retiring`` (their
codes still verify); ``retired`` keys are withdrawn from the JWKS and their codes stop
verifying. Every change is announced on ``lindung.qr-keys`` through the outbox.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from lindung_shared import outbox
from lindung_shared.errors import Conflict, NotFound
from lindung_shared.events import make_event
from lindung_shared.events.catalogue import QrKeyPublished, QrKeyRetired
from lindung_shared.qr import jwk_from_public_key
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_venues import locks
from lindung_venues.clock import utcnow
from lindung_venues.models import QrSigningKey
from lindung_venues.qr_keys.repository import QrKeyRepository
from lindung_venues.qr_keys.vault import KeyVault


def public_key_of(key: QrSigningKey) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(key.public_key)


def jwk_of(key: QrSigningKey) -> dict[str, Any]:
    return jwk_from_public_key(public_key_of(key), key.key_id)


def _new_key_id(now: datetime) -> str:
    return f"qr-{now:%Y%m%d}-{secrets.token_hex(4)}"


def _published(key: QrSigningKey, status: Literal["active", "retiring"], now: datetime) -> Any:
    return make_event(
        "qr_key.published",
        QrKeyPublished(key_id=key.key_id, jwk=jwk_of(key), status=status, published_at=now),
    )


async def _create_active(session: AsyncSession, vault: KeyVault, now: datetime) -> QrSigningKey:
    private = Ed25519PrivateKey.generate()
    key_id = _new_key_id(now)
    key = QrSigningKey(
        key_id=key_id,
        public_key=private.public_key().public_bytes_raw(),
        private_key_encrypted=vault.seal(key_id, private),
        status="active",
        created_at=now,
    )
    await QrKeyRepository(session).add(key)
    await outbox.add_events(session, [_published(key, "active", now)])
    return key


async def ensure_active_key(session: AsyncSession, vault: KeyVault) -> QrSigningKey:
    """The active key, created (and published) if there is none, e.g. on first start."""
    repo = QrKeyRepository(session)
    key = await repo.active()
    if key is not None:
        return key
    await locks.exclusive(session, locks.QR_KEYS)
    key = await repo.active()
    return key if key is not None else await _create_active(session, vault, utcnow())


async def signing_key(session: AsyncSession, vault: KeyVault) -> tuple[str, Ed25519PrivateKey]:
    key = await ensure_active_key(session, vault)
    return key.key_id, vault.open(key.key_id, key.private_key_encrypted)


async def rotate(session: AsyncSession, vault: KeyVault) -> QrSigningKey:
    """A new active key; the previous one keeps verifying its codes as ``retiring``."""
    await locks.exclusive(session, locks.QR_KEYS)
    now = utcnow()
    repo = QrKeyRepository(session)
    previous = await repo.active()
    if previous is not None:
        previous.status = "retiring"
        previous.retiring_at = now
        await session.flush()
        await outbox.add_events(session, [_published(previous, "retiring", now)])
    return await _create_active(session, vault, now)


async def retire(
    session: AsyncSession, vault: KeyVault, key_id: str
) -> tuple[QrSigningKey, QrSigningKey | None]:
    """Retire ``key_id`` (its codes stop verifying). Retiring the active key (a suspected
    leak) creates a new active key at once, so that codes can still be issued. Returns the
    retired key and the replacement, if one was made."""
    await locks.exclusive(session, locks.QR_KEYS)
    repo = QrKeyRepository(session)
    key = await repo.get(key_id)
    if key is None:
        raise NotFound(f"there is no QR signing key {key_id!r}", code="qr-key-not-found")
    if key.status == "retired":
        raise Conflict(f"QR signing key {key_id!r} is already retired", code="qr-key-retired")
    now = utcnow()
    was_active = key.status == "active"
    key.status = "retired"
    key.retired_at = now
    await session.flush()
    await outbox.add_events(
        session, [make_event("qr_key.retired", QrKeyRetired(key_id=key_id, retired_at=now))]
    )
    replacement = await _create_active(session, vault, now) if was_active else None
    return key, replacement


async def trusted_keys(session: AsyncSession) -> Sequence[QrSigningKey]:
    """Keys whose codes verify: the active one and those retiring."""
    return await QrKeyRepository(session).with_status("active", "retiring")


async def all_keys(session: AsyncSession) -> Sequence[QrSigningKey]:
    return await QrKeyRepository(session).all()


async def republish(session: AsyncSession) -> int:
    """Announce every trusted key again (consumers upsert keys, so this is idempotent)."""
    now = utcnow()
    keys = await trusted_keys(session)
    await outbox.add_events(
        session,
        [_published(k, "active" if k.status == "active" else "retiring", now) for k in keys],
    )
    return len(keys)
