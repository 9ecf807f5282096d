"""Settings of the health-records service."""

from __future__ import annotations

from lindung_shared.settings import ServiceSettings
from pydantic import Field, SecretStr


class Settings(ServiceSettings):
    service_name: str = "health-records"
    database_name: str = "lindung_health_records"
    http_port: int = Field(default=8003, alias="HEALTH_RECORDS_HTTP_PORT")
    worker_metrics_port: int = Field(default=9103, alias="HEALTH_RECORDS_WORKER_METRICS_PORT")

    #: Key of the HMAC-SHA256 that turns a NIK into its look-up hash.
    nik_hash_key: SecretStr = Field(
        default=SecretStr("dev-only-nik-hash-key-change-me"), alias="HEALTH_NIK_HASH_KEY"
    )
    #: Secret from which the AES-256-GCM key that encrypts NIKs (for officers) is derived.
    nik_encryption_key: SecretStr = Field(
        default=SecretStr("dev-only-nik-encryption-key-change-me"),
        alias="HEALTH_NIK_ENCRYPTION_KEY",
    )
    #: PEM (PKCS#8, Ed25519) of the identity key that signs citizen tokens in production.
    #: Development uses the generated development key (``TokenIssuer.development``).
    identity_signing_key_pem: SecretStr = Field(
        default=SecretStr("dev-only"), alias="HEALTH_IDENTITY_SIGNING_KEY_PEM"
    )
    #: Shared with the notifier: seals phones and sign-in codes for it (lindung_shared.sealing).
    contact_seal_key: SecretStr = Field(
        default=SecretStr("dev-only-contact-seal-key-change-me"), alias="LINDUNG_CONTACT_SEAL_KEY"
    )
    identity_key_id: str = Field(default="identity-1", alias="HEALTH_IDENTITY_KEY_ID")
    citizen_token_ttl_seconds: int = 12 * 3600

    #: Extra regency codes accepted in NIKs (comma-separated four-digit codes), for regions
    #: created after the shipped list (e.g. the 2022 Papua provinces).
    extra_region_codes: str = Field(default="", alias="HEALTH_EXTRA_REGION_CODES")

    #: The civil registry (Dukcapil) identity verification API: base URL and bearer secret.
    civil_registry_url: str = Field(
        default="http://127.0.0.1:18081/civil-registry", alias="LINDUNG_CIVIL_REGISTRY_URL"
    )
    civil_registry_token: SecretStr = Field(
        default=SecretStr("dev-only-civil-registry-token"), alias="LINDUNG_CIVIL_REGISTRY_TOKEN"
    )
    civil_registry_timeout_seconds: float = Field(
        default=5.0, alias="HEALTH_CIVIL_REGISTRY_TIMEOUT_SECONDS"
    )
    #: Retry-After of the 503 answered while the civil registry cannot be reached.
    civil_registry_retry_after_seconds: int = 30
    #: How many people one phone number may hold (a family's worth).
    max_people_per_phone: int = Field(default=5, alias="HEALTH_MAX_PEOPLE_PER_PHONE")
    #: Rate limits, held across every API process in PostgreSQL (lindung_shared.ratelimit);
    #: 429 with Retry-After beyond them. Per address: many people share one behind a
    #: carrier's NAT, hence the generous figures.
    #: Sign-in codes: per person (the phone and NIK asked for) 3 per 15 minutes; per phone, by
    #: default twice ``max_people_per_phone``, so that a family of five sharing a phone can
    #: all register and sign in at once (one code each, and a retry) while the phone's owner
    #: still receives at most 10 texts per 15 minutes.
    otp_per_person_per_15min: int = Field(default=3, alias="HEALTH_OTP_PER_PERSON_PER_15MIN")
    otp_per_phone_per_15min: int | None = Field(
        default=None, alias="HEALTH_OTP_PER_PHONE_PER_15MIN"
    )
    otp_per_address_per_15min: int = Field(default=60, alias="HEALTH_OTP_PER_ADDRESS_PER_15MIN")
    token_per_address_per_15min: int = Field(
        default=120, alias="HEALTH_TOKEN_PER_ADDRESS_PER_15MIN"
    )
    registrations_per_address_per_hour: int = Field(
        default=300, alias="HEALTH_REGISTRATIONS_PER_ADDRESS_PER_HOUR"
    )
    verifications_per_caller_per_minute: int = Field(
        default=120, alias="HEALTH_VERIFICATIONS_PER_CALLER_PER_MINUTE"
    )

    def otp_phone_limit(self) -> int:
        """Sign-in codes per phone per 15 minutes (see ``otp_per_phone_per_15min``)."""
        if self.otp_per_phone_per_15min is not None:
            return self.otp_per_phone_per_15min
        return 2 * self.max_people_per_phone

    sign_in_code_ttl_seconds: int = 300
    sign_in_code_max_attempts: int = 5

    sweeper_interval_seconds: float = 30.0
    sweeper_batch_size: int = 500
    #: How often a worker looks for a bulk import to apply (it then drains it chunk by chunk).
    #: Days a bulk import (its staged lines and error rows) is kept after it completed, or
    #: after it was opened if it never completed.
    import_retention_days: int = Field(default=7, ge=1, alias="HEALTH_IMPORT_RETENTION_DAYS")
    import_interval_seconds: float = Field(
        default=2.0, gt=0, alias="HEALTH_IMPORT_INTERVAL_SECONDS"
    )
    #: Feed messages polled from Kafka and applied as one batch (one transaction). A message is
    #: often a Bundle of tens of records: 20 messages of 50 is a 1,000-record batch.
    feed_batch_size: int = Field(default=20, ge=1, le=5000, alias="HEALTH_FEED_BATCH_SIZE")

    # Retention (docs/privacy.md; lindung_health.retention.purges says why each is enough).
    sign_in_code_retention_hours: int = Field(default=6, ge=1)
    exposure_retention_days: int = Field(default=35, ge=14)
    status_history_retention_days: int = Field(default=35, ge=14)
    test_retention_days: int = Field(default=180, ge=60)
    certificate_retention_days: int = Field(default=30, ge=0)
    retention_interval_seconds: float = 3600.0
    retention_batch_size: int = 1000
