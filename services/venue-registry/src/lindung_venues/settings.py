"""Settings of the venue registry (API and worker)."""

from __future__ import annotations

from pathlib import Path

from lindung_shared.settings import ServiceSettings
from pydantic import Field, SecretStr


class Settings(ServiceSettings):
    service_name: str = "venue-registry"
    database_name: str = "lindung_venue_registry"
    http_port: int = Field(default=8001, alias="VENUE_REGISTRY_HTTP_PORT")
    worker_metrics_port: int = Field(default=9101, alias="VENUE_REGISTRY_WORKER_METRICS_PORT")
    #: Encrypts QR signing private keys at rest (AES-256-GCM, key derived with HKDF-SHA256).
    key_encryption_key: SecretStr = Field(
        default=SecretStr("dev-only-venue-registry-key-encryption-key"),
        alias="VENUE_REGISTRY_KEY_ENCRYPTION_KEY",
    )
    #: Extra regency codes (same columns as the shipped ``regencies.csv``: code, province
    #: code, name), for codes created after the shipped list (e.g. the 2022 Papua provinces).
    extra_regencies_csv: Path | None = Field(
        default=None, alias="VENUE_REGISTRY_EXTRA_REGENCIES_CSV"
    )
    #: How long clients may cache ``/.well-known/jwks.json``.
    jwks_max_age_seconds: int = 300
