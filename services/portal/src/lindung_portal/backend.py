"""The portal's calls to the four services, each with a short-lived bearer token minted for
the signed-in user (their subject, role, venues' owner id, and an officer's jurisdiction).
The browser never sees these tokens."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lindung_shared.auth import ensure_dev_keys, load_private_key

from lindung_portal.accounts import Account
from lindung_portal.settings import Settings


class BackendUnavailable(Exception):
    """A service did not answer, or answered 5xx: the page says so (503), nothing is lost."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    content: bytes
    content_type: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("detail") or self.body.get("title") or self.status)
        return str(self.status)


class Minter:
    """Signs the portal's service tokens with the key the services trust."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        key: Ed25519PrivateKey
        if settings.signing_key is not None:
            key = load_private_key(settings.signing_key.get_secret_value().encode())
            if not settings.signing_key_id:
                raise ValueError("PORTAL_SIGNING_KEY needs PORTAL_SIGNING_KEY_ID")
            kid = settings.signing_key_id
        elif settings.is_development:
            key, kid = ensure_dev_keys(settings.keys_dir)
        else:
            raise ValueError("production needs PORTAL_SIGNING_KEY and PORTAL_SIGNING_KEY_ID")
        self.key, self.key_id = key, kid
        self._cache: dict[uuid.UUID, tuple[str, float]] = {}

    def claims(self, account: Account, now: float) -> dict[str, Any]:
        roles = ["venue_manager"] if account.is_manager else ["health_officer"]
        if account.is_officer and account.is_admin:
            roles.append("admin")
        claims: dict[str, Any] = {
            "iss": self.settings.auth_issuer,
            "aud": self.settings.auth_audience,
            "sub": account.subject,
            "roles": roles,
            "venues": [],
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + self.settings.service_token_ttl_seconds,
            "jti": str(uuid.uuid4()),
            "via": "portal",
        }
        if account.jurisdiction is not None:
            claims["jurisdiction"] = account.jurisdiction.claim()
        return claims

    def token(self, account: Account) -> str:
        now = time.time()
        cached = self._cache.get(account.id)
        if cached is not None and cached[1] - now > 60:
            return cached[0]
        claims = self.claims(account, now)
        token = jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.key_id})
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[account.id] = (token, float(claims["exp"]))
        return token


class Backend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.minter = Minter(settings)
        self.client = httpx.AsyncClient(timeout=settings.service_timeout_seconds)
        self.urls = {
            "venues": settings.venue_registry_url.rstrip("/"),
            "checkin": settings.checkin_url.rstrip("/"),
            "health": settings.health_records_url.rstrip("/"),
            "notifier": settings.notifier_url.rstrip("/"),
        }

    async def close(self) -> None:
        await self.client.aclose()

    async def call(
        self,
        account: Account,
        method: str,
        service: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Reply:
        headers = {"Authorization": f"Bearer {self.minter.token(account)}"}
        try:
            response = await self.client.request(
                method,
                self.urls[service] + path,
                json=json,
                params=params,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"{service}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise BackendUnavailable(f"{service}: {response.status_code}")
        content_type = response.headers.get("content-type", "")
        body: Any = None
        if "json" in content_type:
            try:
                body = response.json()
            except ValueError:
                body = None
        return Reply(response.status_code, body, response.content, content_type)

    async def get(self, account: Account, service: str, path: str, **params: Any) -> Reply:
        return await self.call(account, "GET", service, path, params=params or None)
