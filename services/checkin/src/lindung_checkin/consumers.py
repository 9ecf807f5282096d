"""The check-in worker's Kafka consumers: thin adapters from events to the local copies."""

from __future__ import annotations

from lindung_shared.kafka.consumer import EventConsumer
from lindung_shared.worker import WorkerContext

from lindung_checkin.settings import Settings
from lindung_checkin.statuses.handlers import on_status_changed
from lindung_checkin.trust.handlers import on_key_published, on_key_retired, on_qr_revoked
from lindung_checkin.venues.handlers import on_venue_closed, on_venue_snapshot
from lindung_checkin.zones.handlers import zone_handler


def build_consumers(
    ctx: WorkerContext, settings: Settings, *, group_prefix: str = "checkin"
) -> list[EventConsumer]:
    def consumer(name: str, topic: str, handlers: dict[str, object]) -> EventConsumer:
        return EventConsumer(
            service=settings.service_name,
            group_id=f"{group_prefix}.{name}",
            topics=[topic],
            handlers=handlers,  # type: ignore[arg-type]
            sessionmaker=ctx.sessionmaker,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            dead_letters=ctx.producer,
        )

    return [
        consumer(
            "venues",
            "lindung.venues",
            {
                "venue.registered": on_venue_snapshot,
                "venue.updated": on_venue_snapshot,
                "venue.closed": on_venue_closed,
                "qr_code.revoked": on_qr_revoked,
            },
        ),
        consumer(
            "qr-keys",
            "lindung.qr-keys",
            {"qr_key.published": on_key_published, "qr_key.retired": on_key_retired},
        ),
        consumer("statuses", "lindung.health-status", {"status.changed": on_status_changed}),
        consumer(
            "zones",
            "lindung.zones",
            {"zone.level_changed": zone_handler(settings.zone_alert_days)},
        ),
    ]
