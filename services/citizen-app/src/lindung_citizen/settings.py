from __future__ import annotations

from lindung_shared.settings import ServiceSettings
from pydantic import Field


class Settings(ServiceSettings):
    """The citizen app's gateway. It has no database and no Kafka of its own: it serves the
    web app's files and forwards the app's calls to the four services' citizen APIs."""

    service_name: str = "citizen-app"
    http_port: int = Field(default=8006, alias="CITIZEN_APP_HTTP_PORT")

    #: Where the services answer (the same variables `make run` uses for their ports); a full
    #: URL setting wins over the port (another host, a load balancer).
    venue_registry_port: int = Field(default=8001, alias="VENUE_REGISTRY_HTTP_PORT")
    checkin_port: int = Field(default=8002, alias="CHECKIN_HTTP_PORT")
    health_records_port: int = Field(default=8003, alias="HEALTH_RECORDS_HTTP_PORT")
    notifier_port: int = Field(default=8004, alias="NOTIFIER_HTTP_PORT")
    checkin_url_override: str | None = Field(default=None, alias="CITIZEN_APP_CHECKIN_URL")
    health_records_url_override: str | None = Field(
        default=None, alias="CITIZEN_APP_HEALTH_RECORDS_URL"
    )
    notifier_url_override: str | None = Field(default=None, alias="CITIZEN_APP_NOTIFIER_URL")

    #: The session cookie is `Secure` outside development (the app is served over HTTPS
    #: there); http://127.0.0.1 in development is a secure context for service workers but
    #: would drop a Secure cookie in some browsers, so it is off there unless set.
    cookie_secure: bool | None = Field(default=None, alias="CITIZEN_APP_COOKIE_SECURE")
    #: Largest request body the gateway forwards (an offline batch of ~100 scans fits).
    max_body_bytes: int = Field(default=256 * 1024, alias="CITIZEN_APP_MAX_BODY_BYTES")
    upstream_timeout_seconds: float = 15.0
    #: The live inbox stream stays open; the notifier sends a comment every 15 s, so a read
    #: that waits longer than this means the upstream is gone.
    stream_read_timeout_seconds: float = 60.0
    #: The Web Push application server key (VAPID public key, base64url of the uncompressed
    #: P-256 point) the app subscribes with; empty: push registration is offered as
    #: unavailable. The private half belongs to whatever sends the pushes, not to this process.
    vapid_public_key: str = Field(default="", alias="CITIZEN_APP_VAPID_PUBLIC_KEY")

    @property
    def checkin_url(self) -> str:
        return self.checkin_url_override or f"http://127.0.0.1:{self.checkin_port}"

    @property
    def health_records_url(self) -> str:
        return self.health_records_url_override or f"http://127.0.0.1:{self.health_records_port}"

    @property
    def notifier_url(self) -> str:
        return self.notifier_url_override or f"http://127.0.0.1:{self.notifier_port}"

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else not self.is_development
