"""Settings of the development external systems (environment variables)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def shipped_residents() -> Path:
    return Path(str(resources.files("lindung_devsystems") / "data" / "residents.csv"))


class DevSystemsSettings(BaseSettings):
    """The credentials are the same variables the clients read (health-records for the
    civil registry, the notifier for the gateways), so one value configures both ends."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    host: str = Field(default="127.0.0.1", alias="LINDUNG_DEVSYSTEMS_HOST")
    port: int = Field(default=18081, alias="LINDUNG_DEVSYSTEMS_PORT")
    residents_csv: Path = Field(
        default_factory=shipped_residents, alias="LINDUNG_DEVSYSTEMS_RESIDENTS_CSV"
    )
    civil_registry_token: SecretStr = Field(
        default=SecretStr("dev-only-civil-registry-token"), alias="LINDUNG_CIVIL_REGISTRY_TOKEN"
    )
    sms_token: SecretStr = Field(
        default=SecretStr("dev-only-sms-token"), alias="NOTIFIER_SMS_TOKEN"
    )
    push_token: SecretStr = Field(
        default=SecretStr("dev-only-push-token"), alias="NOTIFIER_PUSH_TOKEN"
    )
    #: Messages kept per sink (oldest dropped first): a sink is for reading recent messages.
    max_messages: int = Field(default=10_000, alias="LINDUNG_DEVSYSTEMS_MAX_MESSAGES")
