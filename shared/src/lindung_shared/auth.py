"""Bearer-token authentication shared by every service.

Tokens are JWTs signed with Ed25519 (``EdDSA``) by the identity issuer (health-records for
citizens after a one-time code; the operator's tooling for the other roles). Every service
verifies them offline against a JWKS. In development a key pair is generated on first use
under ``keys_dir`` (git-ignored, never committed) and ``lindung token`` mints tokens with it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from lindung_shared.errors import Forbidden, Unauthorized
from lindung_shared.jurisdiction import Jurisdiction
from lindung_shared.revocation import RevocationList
from lindung_shared.settings import ServiceSettings
from lindung_shared.tokens import (
    DEV_JWKS,
    DEV_PRIVATE_KEY,
    Role,
    TokenIssuer,
    ensure_dev_keys,
    load_private_key,
    public_jwk,
)

__all__ = [
    "DEV_JWKS",
    "DEV_PRIVATE_KEY",
    "Jurisdiction",
    "Role",
    "TokenIssuer",
    "ensure_dev_keys",
    "load_private_key",
    "public_jwk",
]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject, roles and (for managers) venues."""

    subject: str
    roles: frozenset[Role]
    venues: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None
    #: The subject's token generation when the token was issued (claim ``gen``; absent: 0):
    #: tokens below the subject's current floor are revoked (:mod:`lindung_shared.revocation`).
    generation: int = 0
    #: An officer's reach (the token's ``jurisdiction`` claim); None reaches nowhere.
    jurisdiction: Jurisdiction | None = None

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def covers(self, regency_code: str) -> bool:
        return self.jurisdiction is not None and self.jurisdiction.covers(regency_code)


class TokenVerifier:
    """Verifies bearer tokens against a JWKS (refetched when an unknown key id appears)."""

    #: Verified tokens kept (by their exact text) so that an app's repeated calls with the same
    #: token cost a dictionary look-up instead of a signature check. Bounded; emptied whenever
    #: the key set is reloaded, so a withdrawn key stops being honoured at once.
    CACHE_SIZE = 10_000

    #: Leeway for exp / nbf / iat, seconds (clock skew between issuer and service).
    LEEWAY = 30
    #: Distinct token header segments remembered (an issuer uses a handful: one per key).
    HEADER_CACHE_SIZE = 64

    def __init__(
        self, settings: ServiceSettings, revocations: RevocationList | None = None
    ) -> None:
        self.settings = settings
        #: Revoked token generations per subject, checked on every call (cached or not).
        self.revocations = revocations
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._headers: dict[str, tuple[str, str | None]] = {}

    async def load(self) -> None:
        document = await self._fetch_jwks()
        self._keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(document).keys if k.key_id}
        self._fetched_at = time.monotonic()
        self._verified = {}

    async def _fetch_jwks(self) -> dict[str, Any]:
        s = self.settings
        if s.auth_jwks_url:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(s.auth_jwks_url)
                response.raise_for_status()
                document: dict[str, Any] = response.json()
                return document
        if s.auth_jwks_path:
            loaded: dict[str, Any] = json.loads(s.auth_jwks_path.read_text())
            return loaded
        if not s.is_development:
            raise RuntimeError("no JWKS configured")
        ensure_dev_keys(s.keys_dir)
        dev: dict[str, Any] = json.loads((s.keys_dir / DEV_JWKS).read_text())
        return dev

    #: The key set is fetched again this often (seconds), so that a withdrawn key stops being
    #: honoured (cached tokens included) without waiting for an unknown key id to arrive.
    REFRESH_SECONDS = 300.0
    #: After a failed timed refresh, the keys in hand are kept and it is tried again this soon.
    RETRY_SECONDS = 30.0

    async def refresh_if_due(self) -> None:
        if time.monotonic() - self._fetched_at < self.REFRESH_SECONDS:
            return
        # One refresh at a time; the others go on with the keys in hand meanwhile.
        self._fetched_at = time.monotonic() - self.REFRESH_SECONDS + self.RETRY_SECONDS
        try:
            await self.load()
        except Exception as exc:  # the issuer is briefly unreachable: keep the current keys
            logging.getLogger(__name__).warning(
                "token keys not refreshed: %s; retrying in %.0f s",
                type(exc).__name__,
                self.RETRY_SECONDS,
            )

    async def verify(self, token: str) -> Principal:
        await self.refresh_if_due()
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires_at = cached
            if time.time() < expires_at:
                return self._not_revoked(principal)
            del self._verified[token]
        principal, expires_at = await self._verify(token)
        if len(self._verified) >= self.CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest (insertion order)
        self._verified[token] = (principal, expires_at)
        return self._not_revoked(principal)

    def _not_revoked(self, principal: Principal) -> Principal:
        revocations = self.revocations
        if revocations is not None and revocations.revoked(principal.subject, principal.generation):
            raise Unauthorized("the bearer token has been revoked", code="token-revoked")
        return principal

    def _header(self, token: str) -> tuple[str, str | None]:
        """The token's algorithm and key id; the header segment's decoding is remembered
        (it is the same for every token an issuer signs with one key)."""
        segment = token.partition(".")[0]
        known = self._headers.get(segment)
        if known is not None:
            return known
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("the bearer token is not a valid JWT") from exc
        kid = header.get("kid")
        known = (str(header.get("alg")), kid if isinstance(kid, str) else None)
        if len(self._headers) < self.HEADER_CACHE_SIZE:
            self._headers[segment] = known
        return known

    async def _verify(self, token: str) -> tuple[Principal, float]:
        _, kid = self._header(token)
        if kid not in self._keys and time.monotonic() - self._fetched_at > 30:
            await self.load()
        key = self._keys.get(kid or "")
        if key is None:
            raise Unauthorized("the bearer token was signed by an unknown key")
        return self._principal(self.decode(token, key))

    def decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        """The token's claims, its signature and claims checked by PyJWT: the one token check
        of every service and route (issuer, audience, expiry with leeway, required claims)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=["EdDSA", "ES256"],
                audience=self.settings.auth_audience,
                issuer=self.settings.auth_issuer,
                options={"require": ["exp", "iat", "sub"]},
                leeway=self.LEEWAY,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the bearer token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"the bearer token is not valid: {exc}") from exc
        return claims

    def _principal(self, claims: dict[str, Any]) -> tuple[Principal, float]:
        # Every claim is type-checked: a validly signed token with a claim of the wrong type
        # is refused (401), never a 500.
        if not isinstance(claims.get("sub"), str):
            raise Unauthorized("the bearer token is not valid: sub must be a string")
        if "jti" in claims and not isinstance(claims["jti"], str):
            raise Unauthorized("the bearer token is not valid: jti must be a string")
        generation = claims.get("gen", 0)
        if type(generation) is not int or generation < 0:
            raise Unauthorized("the bearer token is not valid: gen must be a whole number")
        try:
            roles = frozenset(Role(r) for r in _strings(claims, "roles"))
        except ValueError as exc:
            raise Unauthorized("the bearer token names an unknown role") from exc
        jurisdiction = None
        if "jurisdiction" in claims:
            try:
                jurisdiction = Jurisdiction.from_claim(claims["jurisdiction"])
            except ValueError as exc:
                raise Unauthorized(f"the bearer token is not valid: {exc}") from exc
        principal = Principal(
            subject=claims["sub"],
            roles=roles,
            venues=frozenset(_strings(claims, "venues")),
            token_id=claims.get("jti"),
            generation=generation,
            jurisdiction=jurisdiction,
        )
        # Honoured until its expiry, without the decoder's leeway: a cached token never
        # outlives what a fresh check would accept.
        return principal, float(claims["exp"])


def _strings(claims: dict[str, Any], name: str) -> list[str]:
    """A claim that must be a list of strings (absent: empty); 401 otherwise."""
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unauthorized(f"the bearer token is not valid: {name} must be a list of strings")
    return value


class Bearer(HTTPBearer):
    """The one way a request is authenticated, for every route of every service: the bearer
    token verified by the app's :class:`TokenVerifier` and, when ``roles`` are given, one of
    them required. Used as a FastAPI dependency (``Depends(Bearer(...))``), it is a single
    dependency of the request alone (cheap to solve on the hot path) and documents the bearer
    scheme in OpenAPI."""

    def __init__(self, *roles: Role) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="HTTPBearer",
            description="A JWT issued by the Lindung identity issuer",
        )
        self.roles = roles

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "bearer" or not credentials:
            raise Unauthorized("this endpoint needs a bearer token")
        verifier: TokenVerifier = request.app.state.token_verifier
        principal = await verifier.verify(credentials)
        return check_roles(principal, self.roles) if self.roles else principal


def check_roles(principal: Principal, roles: tuple[Role, ...]) -> Principal:
    if not principal.has(*roles):
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"this action needs one of the roles: {allowed}")
    return principal


def ensure_covers(principal: Principal, regency_code: str) -> None:
    """403 ``outside-jurisdiction`` unless the officer's jurisdiction reaches the regency."""
    if not principal.covers(regency_code):
        raise Forbidden(
            f"regency {regency_code} is outside your jurisdiction", code="outside-jurisdiction"
        )


def require_roles(*roles: Role) -> Bearer:
    """A dependency that admits a caller holding any of ``roles``."""
    return Bearer(*roles)


current_principal = Bearer()

AnyPrincipal = Annotated[Principal, Depends(current_principal)]
CitizenDep = Annotated[Principal, Depends(require_roles(Role.CITIZEN))]
VenueManagerDep = Annotated[Principal, Depends(require_roles(Role.VENUE_MANAGER))]
HealthOfficerDep = Annotated[Principal, Depends(require_roles(Role.HEALTH_OFFICER))]
FeedDep = Annotated[Principal, Depends(require_roles(Role.FEED))]
ServiceDep = Annotated[Principal, Depends(require_roles(Role.SERVICE))]
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
