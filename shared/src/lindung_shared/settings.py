"""Settings base shared by every service.

Each service subclasses :class:`ServiceSettings` and adds its own fields. Values come from the
environment (and an optional ``.env``); secrets are ``SecretStr`` so they never show up in a
repr or a log line. Outside development, a secret that still carries a placeholder value is
refused at start-up rather than silently used in production.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

PLACEHOLDER_MARKERS = ("change-me", "changeme", "dev-only", "placeholder")


def _is_repo(path: Path) -> bool:
    return (path / "services").is_dir() and (path / "shared").is_dir()


def _repo_root() -> Path:
    """The directory holding the monorepo (where `.stack/` and `.keys/` live in development):
    the checkout around the working directory, else the checkout this package is installed
    from (an editable install: shared/src/lindung_shared), else the working directory."""
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if _is_repo(candidate):
            return candidate
    installed = Path(__file__).resolve().parents[3]
    if _is_repo(installed):
        return installed
    return here


class KafkaSecuritySettings(BaseSettings):
    """How every Kafka client of a process authenticates (``lindung_shared.kafka.
    kafka_security``): PLAINTEXT (the local stack), or SASL (SCRAM) with each service its own
    principal, over TLS where ``SASL_SSL``/``SSL``. Read from the environment alone, so that
    the clients made from a bare bootstrap address get it too."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_nested_delimiter="__")

    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = Field(
        default="PLAINTEXT", alias="KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = Field(
        default="SCRAM-SHA-512", alias="KAFKA_SASL_MECHANISM"
    )
    #: The service's own principal (``User:<name>``) and its password.
    kafka_sasl_username: str | None = Field(default=None, alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(default=None, alias="KAFKA_SASL_PASSWORD")
    #: Or a file whose first line is the password (the local stack's generated passwords in
    #: ``.stack/kafka/sasl/<principal>.password``); ``KAFKA_SASL_PASSWORD`` wins when both are set.
    kafka_sasl_password_file: Path | None = Field(default=None, alias="KAFKA_SASL_PASSWORD_FILE")
    #: CA bundle that verifies the brokers' certificates (TLS); the system's when unset.
    kafka_ssl_cafile: Path | None = Field(default=None, alias="KAFKA_SSL_CAFILE")


class ServiceSettings(KafkaSecuritySettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_nested_delimiter="__")

    environment: Environment = Field(default="development", alias="LINDUNG_ENV")
    service_name: str = "lindung"
    #: Server-level PostgreSQL URL. Each service uses its own database on that server
    #: (``database_name``), unless ``database_url_override`` names one in full.
    database_url: str = Field(
        default="postgresql://lindung:lindung@127.0.0.1:55432/lindung", alias="DATABASE_URL"
    )
    database_name: str = "lindung"
    database_pool_size: int = 10
    database_max_overflow: int = 20
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:59092", alias="KAFKA_BOOTSTRAP_SERVERS")
    #: Where the JWKS used to verify bearer tokens comes from: a URL, a file, or (development)
    #: the generated development keys in ``keys_dir``.
    auth_jwks_url: str | None = Field(default=None, alias="LINDUNG_AUTH_JWKS_URL")
    auth_jwks_path: Path | None = Field(default=None, alias="LINDUNG_AUTH_JWKS_PATH")
    auth_issuer: str = Field(default="lindung-dev", alias="LINDUNG_AUTH_ISSUER")
    auth_audience: str = Field(default="lindung", alias="LINDUNG_AUTH_AUDIENCE")
    keys_dir: Path = Field(default_factory=lambda: _repo_root() / ".keys", alias="LINDUNG_KEYS_DIR")
    log_level: str = Field(default="INFO", alias="LINDUNG_LOG_LEVEL")
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    #: The largest request body an API reads, bytes, unless the service raises it for a
    #: route (``create_app(body_limits=...)``); larger bodies are refused with 413.
    max_body_bytes: int = Field(default=65_536, alias="LINDUNG_MAX_BODY_BYTES")
    #: FastAPI's own OpenTelemetry spans, metrics and logs for every request. Off: the
    #: services' metrics are Prometheus (``/metrics``) and their logs JSON lines; with it off,
    #: FastAPI skips the per-request look-up of OpenTelemetry providers (about 4 % of the
    #: check-in API's CPU per scan when profiled). On: FastAPI instruments requests with the
    #: providers an OpenTelemetry distro or ``FASTAPI_OTEL_AUTO_CONFIGURE`` sets up.
    opentelemetry: bool = Field(default=False, alias="LINDUNG_OPENTELEMETRY")

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "test")

    @property
    def sqlalchemy_url(self) -> str:
        """The asyncpg URL of this service's own database."""
        return with_database(self.database_url, self.database_name, driver="postgresql+asyncpg")

    @property
    def server_url(self) -> str:
        """A libpq/asyncpg URL of the server's maintenance database (for CREATE DATABASE)."""
        return with_database(self.database_url, "postgres", driver="postgresql")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.environment == "production":
            for name, value in self:
                if isinstance(value, SecretStr):
                    secret = value.get_secret_value().lower()
                    if not secret or any(marker in secret for marker in PLACEHOLDER_MARKERS):
                        raise ValueError(
                            f"setting {name!r} still holds a placeholder secret; "
                            "set a real value before running in production"
                        )
            if self.auth_jwks_url is None and self.auth_jwks_path is None:
                raise ValueError(
                    "production needs LINDUNG_AUTH_JWKS_URL or LINDUNG_AUTH_JWKS_PATH; "
                    "development keys are never trusted there"
                )
        return self


def with_database(url: str, database: str, *, driver: str = "postgresql") -> str:
    """Return ``url`` pointing at ``database`` with the given SQLAlchemy driver scheme."""
    parts = urlsplit(url)
    return urlunsplit((driver, parts.netloc, f"/{database}", parts.query, parts.fragment))


def settings_summary(settings: ServiceSettings) -> dict[str, Any]:
    """Non-secret settings for the start-up log line."""
    parts = urlsplit(settings.database_url)
    return {
        "service": settings.service_name,
        "environment": settings.environment,
        "database": f"{parts.hostname}:{parts.port}/{settings.database_name}",
        "kafka": settings.kafka_bootstrap_servers,
    }
