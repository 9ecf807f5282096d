"""In-memory caches the door reads on every scan: trusted QR keys and the sector rule version.

Both are loaded from this service's own copies (``qr_keys``, ``sector_rule_sets``), refreshed
periodically, and the key cache reloads at once (but at most every few seconds) when a payload
names a key id it does not know, so a freshly rotated key works without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence

import asyncpg
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from lindung_shared.qr import public_key_from_jwk

from lindung_checkin.trust import repository

log = logging.getLogger(__name__)


def trusted_keys(rows: Iterable[Sequence[str]]) -> dict[str, Ed25519PublicKey]:
    """The verification keys from rows of (key id, JWK text)
    (:func:`repository.trusted_key_rows`)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for key_id, jwk_text in rows:
        try:
            keys[key_id] = public_key_from_jwk(orjson.loads(jwk_text))
        except ValueError:
            log.warning("ignoring an unusable QR key", extra={"key_id": key_id})
    return keys


class QrKeyCache:
    def __init__(self, *, refresh_seconds: float, min_reload_seconds: float) -> None:
        self.refresh_seconds = refresh_seconds
        self.min_reload_seconds = min_reload_seconds
        self.keys: Mapping[str, Ed25519PublicKey] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def load(self, pool: asyncpg.Pool) -> None:
        self.keys = trusted_keys(await repository.trusted_key_rows(pool))
        self._loaded_at = time.monotonic()

    async def current(
        self, pool: asyncpg.Pool, key_id: str | None = None
    ) -> Mapping[str, Ed25519PublicKey]:
        """The trusted keys; reloaded when stale, or when ``key_id`` is unknown (throttled)."""
        age = time.monotonic() - self._loaded_at
        stale = age >= self.refresh_seconds
        unknown = key_id is not None and key_id not in self.keys and age >= self.min_reload_seconds
        if stale or unknown:
            async with self._lock:
                if time.monotonic() - self._loaded_at >= min(
                    self.min_reload_seconds, self.refresh_seconds
                ):
                    await self.load(pool)
        return self.keys


class RuleVersionCache:
    """The version of the sector rules in force (the rules themselves are read by
    ``checkin_scan`` by primary key, with the version recorded on every decision)."""

    def __init__(self, *, refresh_seconds: float) -> None:
        self.refresh_seconds = refresh_seconds
        self.version: str | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def load(self, pool: asyncpg.Pool) -> None:
        self.version = await repository.rule_version_in_force(pool)
        self._loaded_at = time.monotonic()

    async def current(self, pool: asyncpg.Pool) -> str | None:
        if time.monotonic() - self._loaded_at >= self.refresh_seconds:
            async with self._lock:
                if time.monotonic() - self._loaded_at >= self.refresh_seconds:
                    await self.load(pool)
        return self.version
