"""Prometheus metrics shared by every service, and the ``/metrics`` endpoint.

Services run one API process per container, so the default registry is enough; metric names
carry the ``lindung_`` prefix and the service as a label.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HTTP_REQUESTS = Counter(
    "lindung_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "lindung_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_CONSUMED = Counter(
    "lindung_events_consumed_total", "Kafka events handled", ["service", "group", "type", "outcome"]
)
CONSUMER_LAG = Gauge(
    "lindung_consumer_lag",
    "Messages behind the partition's end",
    ["service", "group", "topic", "partition"],
)
CONSUMER_BATCH_SECONDS = Histogram(
    "lindung_consumer_batch_seconds", "Time to handle and commit one batch", ["service", "group"]
)
DEAD_LETTERS = Counter(
    "lindung_dead_letters_total",
    "Messages sent to the dead-letter topic",
    ["service", "group", "reason"],
)
OUTBOX_PUBLISHED = Counter(
    "lindung_outbox_published_total", "Outbox events published to Kafka", ["service"]
)
OUTBOX_PENDING = Gauge("lindung_outbox_pending", "Outbox rows not yet published", ["service"])


def install_metrics(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def _measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        HTTP_LATENCY.labels(service, request.method, path).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(service, request.method, path, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
