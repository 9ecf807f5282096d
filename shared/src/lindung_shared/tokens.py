"""Roles, the development signing keys and the token issuer: what minting a token needs,
without the web framework (``lindung token`` imports only this, so it answers quickly).
``lindung_shared.auth`` re-exports every name here."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lindung_shared.jurisdiction import Jurisdiction
from lindung_shared.settings import ServiceSettings


class Role(StrEnum):
    CITIZEN = "citizen"
    VENUE_MANAGER = "venue_manager"
    HEALTH_OFFICER = "health_officer"
    FEED = "feed"
    SERVICE = "service"
    #: Publishes screening rules, retires QR signing keys, changes the DCC trust list.
    ADMIN = "admin"


DEV_PRIVATE_KEY = "auth-dev-private.pem"
DEV_JWKS = "auth-dev-jwks.json"


def ensure_dev_keys(keys_dir: Path) -> tuple[Ed25519PrivateKey, str]:
    """Create (once) and load the development signing key; returns it and its key id."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    private_path = keys_dir / DEV_PRIVATE_KEY
    if not private_path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = private_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        try:
            os.link(tmp, private_path)  # atomic: concurrent first runs agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = load_private_key(private_path.read_bytes())
    jwk = public_jwk(key)
    jwks_path = keys_dir / DEV_JWKS
    document = json.dumps({"keys": [jwk]}, indent=2)
    if not jwks_path.exists() or jwks_path.read_text() != document:
        jwks_path.write_text(document)
    return key, jwk["kid"]


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key")
    return key


def public_jwk(key: Ed25519PrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk.update({"kid": "dev-" + raw.hex()[:16], "use": "sig", "alg": "EdDSA"})
    return jwk


class TokenIssuer:
    """Mints access tokens (used by the sign-in flow and the development CLI)."""

    def __init__(self, key: Ed25519PrivateKey, key_id: str, *, issuer: str, audience: str):
        self.key, self.key_id, self.issuer, self.audience = key, key_id, issuer, audience

    def issue(
        self,
        *,
        subject: str,
        roles: Iterable[Role | str],
        venues: Iterable[str] = (),
        ttl_seconds: int = 3600,
        now: float | None = None,
        generation: int | None = None,
        jurisdiction: Jurisdiction | None = None,
    ) -> str:
        """A signed token; ``generation`` (claim ``gen``) is the subject's token generation,
        for tokens that raising it must revoke (citizens')."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "roles": sorted(str(Role(r)) for r in roles),
            "venues": sorted(venues),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        if generation is not None:
            claims["gen"] = generation
        if jurisdiction is not None:
            claims["jurisdiction"] = jurisdiction.claim()
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.key_id})

    @classmethod
    def development(cls, settings: ServiceSettings) -> TokenIssuer:
        key, kid = ensure_dev_keys(settings.keys_dir)
        return cls(key, kid, issuer=settings.auth_issuer, audience=settings.auth_audience)
