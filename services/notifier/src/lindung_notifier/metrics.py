"""The notifier's own Prometheus metrics (the shared ones cover HTTP and consumers)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

NOTIFICATIONS_CREATED = Counter(
    "lindung_notifier_notifications_total",
    "Notifications stored (inbox entries and channel-only messages)",
    ["kind", "language"],
)
NO_CHANNEL = Counter(
    "lindung_notifier_no_channel_total",
    "Notifications whose recipient has no phone and no active device (inbox only)",
    ["kind"],
)
UNKNOWN_TEMPLATE = Counter(
    "lindung_notifier_unknown_template_total",
    "Events whose template key has no template (dead-lettered)",
    ["template_key"],
)
DELIVERY_ATTEMPTS = Counter(
    "lindung_notifier_delivery_attempts_total",
    "Calls to a gateway, by outcome (delivered, retry, permanent, invalid-target, expired)",
    ["channel", "outcome"],
)
DELIVERIES_DEAD = Counter(
    "lindung_notifier_deliveries_dead_total", "Deliveries given up on", ["channel", "reason"]
)
DEVICES_DEACTIVATED = Counter(
    "lindung_notifier_devices_deactivated_total",
    "Push tokens deactivated because the gateway reported them invalid",
)
BREAKER_OPEN = Gauge(
    "lindung_notifier_breaker_open",
    "1 while the circuit breaker of a gateway is open (or half-open)",
    ["channel"],
)
GATEWAY_SECONDS = Histogram(
    "lindung_notifier_gateway_seconds",
    "Gateway call latency",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STREAMS_OPEN = Gauge("lindung_notifier_streams_open", "Live notification streams held open")
