"""The identity key that signs citizen tokens."""

from __future__ import annotations

from typing import Any

from lindung_shared.auth import TokenIssuer, load_private_key, public_jwk

from lindung_health.settings import Settings


def build_issuer(settings: Settings) -> TokenIssuer:
    """Development: the shared development key. Otherwise: the PEM from the settings (its
    public half must be in the JWKS every service trusts; see ``/.well-known/jwks.json``)."""
    pem = settings.identity_signing_key_pem.get_secret_value()
    if settings.is_development and "BEGIN" not in pem:
        return TokenIssuer.development(settings)
    key = load_private_key(pem.encode())
    return TokenIssuer(
        key, settings.identity_key_id, issuer=settings.auth_issuer, audience=settings.auth_audience
    )


def issuer_jwks(issuer: TokenIssuer) -> dict[str, Any]:
    jwk = public_jwk(issuer.key)
    jwk["kid"] = issuer.key_id
    return {"keys": [jwk]}
