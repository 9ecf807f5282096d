from __future__ import annotations

from lindung_shared.settings import ServiceSettings
from pydantic import Field, SecretStr


class Settings(ServiceSettings):
    service_name: str = "notifier"
    database_name: str = "lindung_notifier"
    http_port: int = Field(default=8004, alias="NOTIFIER_HTTP_PORT")
    worker_metrics_port: int = Field(default=9104, alias="NOTIFIER_WORKER_METRICS_PORT")
    consumer_group: str = "notifier"
    #: Shared with health-records: opens the phones and sign-in codes it seals for us
    #: (lindung_shared.sealing); phones stay sealed in our tables until an SMS is sent.
    contact_seal_key: SecretStr = Field(
        default=SecretStr("dev-only-contact-seal-key-change-me"), alias="LINDUNG_CONTACT_SEAL_KEY"
    )
    #: Events per consumer batch (one transaction, one statement per table for the fan-out).
    consumer_batch_size: int = 1000

    #: Quarantine of a close contact: last exposure + this many days.
    quarantine_days: int = Field(default=14, alias="NOTIFIER_QUARANTINE_DAYS")
    #: Isolation of a confirmed case: sample date + this many days.
    isolation_days: int = Field(default=10, alias="NOTIFIER_ISOLATION_DAYS")
    #: Zone used for messages that carry no venue (status, cases, zones).
    default_timezone: str = "Asia/Jakarta"

    push_gateway_url: str = Field(
        default="http://127.0.0.1:18081/v1/messages:send", alias="NOTIFIER_PUSH_URL"
    )
    push_gateway_token: SecretStr = Field(
        default=SecretStr("dev-only-push-token"), alias="NOTIFIER_PUSH_TOKEN"
    )
    sms_gateway_url: str = Field(default="http://127.0.0.1:18081/v1/sms", alias="NOTIFIER_SMS_URL")
    sms_gateway_token: SecretStr = Field(
        default=SecretStr("dev-only-sms-token"), alias="NOTIFIER_SMS_TOKEN"
    )
    gateway_timeout_seconds: float = 10.0

    delivery_interval_seconds: float = 0.5
    delivery_batch_size: int = 500
    #: Concurrent gateway calls per worker (kept-alive connections). httpx's pool degraded
    #: sharply past ~8 connections (bench/fanout_bench.py: 8 -> ~600/s, 64 -> ~60/s on the
    #: shared machine; the calls are aiohttp's since); scale out with more worker processes
    #: (claims use SKIP LOCKED).
    delivery_concurrency: int = 8
    delivery_max_attempts: int = 6
    delivery_backoff_base_seconds: float = 2.0
    delivery_backoff_max_seconds: float = 900.0
    #: A delivery left in ``sending`` this long (a worker died mid-call) is sent again with the
    #: same reference; the gateway's idempotency makes that a no-op if the first call landed.
    delivery_sending_timeout_seconds: float = 60.0
    breaker_failure_threshold: int = 5
    breaker_cooldown_seconds: float = 30.0

    sse_heartbeat_seconds: float = 15.0

    # Retention (docs/privacy.md; lindung_notifier.retention.purges says why).
    sign_in_code_retention_hours: int = Field(default=6, ge=1)
    notification_retention_days: int = Field(default=35, ge=14)
    delivery_retention_days: int = Field(default=7, ge=1)
    device_retention_days: int = Field(default=30, ge=1)
    retention_interval_seconds: float = 3600.0
    retention_batch_size: int = 1000
