"""The portal's settings (environment variables; secrets are ``SecretStr``)."""

from __future__ import annotations

import os

from lindung_shared.settings import ServiceSettings
from pydantic import Field, SecretStr


def _service_url(variable: str, default_port: int) -> str:
    """A service's base URL on this machine, following its ``<SERVICE>_HTTP_PORT``."""
    return f"http://127.0.0.1:{os.environ.get(variable, str(default_port))}"


class Settings(ServiceSettings):
    service_name: str = "portal"
    database_name: str = "lindung_portal"
    http_port: int = Field(default=8005, alias="PORTAL_HTTP_PORT")

    #: The four services' APIs (the portal calls them with tokens it mints per user).
    venue_registry_url: str = Field(
        default_factory=lambda: _service_url("VENUE_REGISTRY_HTTP_PORT", 8001),
        alias="PORTAL_VENUE_REGISTRY_URL",
    )
    checkin_url: str = Field(
        default_factory=lambda: _service_url("CHECKIN_HTTP_PORT", 8002),
        alias="PORTAL_CHECKIN_URL",
    )
    health_records_url: str = Field(
        default_factory=lambda: _service_url("HEALTH_RECORDS_HTTP_PORT", 8003),
        alias="PORTAL_HEALTH_RECORDS_URL",
    )
    notifier_url: str = Field(
        default_factory=lambda: _service_url("NOTIFIER_HTTP_PORT", 8004),
        alias="PORTAL_NOTIFIER_URL",
    )
    service_timeout_seconds: float = 10.0

    #: The Ed25519 private key (PEM) the portal signs its short-lived service tokens with, and
    #: its key id. Its public half must be in the JWKS the services trust. Unset in
    #: development: the development keys (``LINDUNG_KEYS_DIR``) are used.
    signing_key: SecretStr | None = Field(default=None, alias="PORTAL_SIGNING_KEY")
    signing_key_id: str | None = Field(default=None, alias="PORTAL_SIGNING_KEY_ID")
    #: Lifetime of a token minted for one signed-in user's calls (re-minted when near expiry).
    service_token_ttl_seconds: int = 300

    #: Encrypts the TOTP secrets at rest (any string; a key is derived from it).
    totp_encryption_key: SecretStr = Field(
        default=SecretStr("dev-only-portal-totp-key"), alias="PORTAL_TOTP_ENCRYPTION_KEY"
    )
    session_hours: float = Field(default=12.0, alias="PORTAL_SESSION_HOURS")
    #: ``Secure`` cookies: ``auto`` sets it when the request came over https (or through a
    #: proxy saying so with X-Forwarded-Proto); ``always`` in production behind TLS.
    cookie_secure: str = Field(default="auto", alias="PORTAL_COOKIE_SECURE")
    #: Failed password attempts before an account is locked for ``lockout_minutes``.
    max_failed_sign_ins: int = 5
    lockout_minutes: int = 15
    #: How often the live pages' server-sent event streams poll the services.
    live_poll_seconds: float = Field(default=2.0, alias="PORTAL_LIVE_POLL_SECONDS")
    live_heartbeat_seconds: float = 15.0
