"""Prometheus metrics shared by every service, and the ``/metrics`` endpoint.

Metric names carry the ``lindung_`` prefix and the service as a label. An API run as several
processes (``serve(..., workers=n)``, e.g. ``CHECKIN_API_WORKERS``) uses Prometheus'
multiprocess mode: ``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before
the worker processes start, each writes its samples there, and ``/metrics`` (answered by any of
them) aggregates every process's.
"""

from __future__ import annotations

import os
import time
import uuid

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lindung_shared.logging import request_id_var

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
RATE_LIMITED = Counter(
    "lindung_rate_limited_total", "Requests refused by a rate limit (429)", ["limit"]
)
OUTBOX_PUBLISHED = Counter(
    "lindung_outbox_published_total", "Outbox events published to Kafka", ["service"]
)
OUTBOX_PENDING = Gauge("lindung_outbox_pending", "Outbox rows not yet published", ["service"])
#: Alert on this: it grows while the relay cannot publish, whatever the reason
#: (e.g. ``max(lindung_outbox_oldest_age_seconds) > 60`` for 2 minutes).
OUTBOX_OLDEST_AGE = Gauge(
    "lindung_outbox_oldest_age_seconds",
    "Age of the oldest outbox row not yet published (0 when the outbox is empty)",
    ["service"],
)
OUTBOX_SEND_FAILURES = Counter(
    "lindung_outbox_send_failures_total",
    "Failed attempts to publish an outbox batch (each one replaces the relay's producer)",
    ["service", "error"],
)
OUTBOX_PARKED = Gauge(
    "lindung_outbox_parked",
    "Outbox rows set aside after failing alone while others went through (retried later)",
    ["service"],
)


class RequestContextMiddleware:
    """Pure ASGI middleware: a request id for the logs and the response, and the request's
    count and latency for Prometheus.

    Written against the raw ASGI interface on purpose: Starlette's ``BaseHTTPMiddleware``
    (what ``@app.middleware("http")`` builds) runs every request through an extra task group
    and a wrapped body stream, and two of them cost the check-in path about a third of its
    CPU (profile in docs/benchmarks.md).
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self._children: dict[tuple[str, str, int], tuple[Histogram, Counter]] = {}

    def _metrics(self, method: str, path: str, status: int) -> tuple[Histogram, Counter]:
        key = (method, path, status)
        found = self._children.get(key)
        if found is None:
            found = (
                HTTP_LATENCY.labels(self.service, method, path),
                HTTP_REQUESTS.labels(self.service, method, path, str(status)),
            )
            if len(self._children) < 10_000:
                self._children[key] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                if 0 < len(value) <= 64:
                    request_id = value.decode("latin-1")
                break
        if not request_id:
            request_id = uuid.uuid4().hex
        encoded_id = request_id.encode()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", encoded_id)]
            await send(message)

        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            route = scope.get("route")
            latency, count = self._metrics(
                scope["method"], getattr(route, "path", "unmatched"), status
            )
            latency.observe(time.perf_counter() - started)
            count.inc()


def install_metrics(app: FastAPI, service: str) -> None:
    app.add_middleware(RequestContextMiddleware, service=service)

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        return Response(latest_metrics(), media_type=CONTENT_TYPE_LATEST)


def latest_metrics() -> bytes:
    """This process's metrics or, in multiprocess mode, every process's together."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


PURGED_ROWS = Counter(
    "lindung_purged_rows_total",
    "Rows of personal data deleted (or blanked) by a retention purge",
    ["service", "data"],
)
PURGE_LAST_RUN = Gauge(
    "lindung_purge_last_run_timestamp_seconds",
    "When a retention purge last completed (alert when it falls behind)",
    ["service", "data"],
)
