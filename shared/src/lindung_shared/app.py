"""The FastAPI application factory every service's API process uses.

It wires what every service has in common: the database engine (created in the lifespan,
disposed on shutdown), token verification, problem+json errors, JSON logs with a request id,
Prometheus metrics, ``/healthz`` (the process is alive) and ``/readyz`` (its database and
Kafka answer). Service-specific start-up goes in ``on_startup`` / ``on_shutdown`` hooks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp

from lindung_shared.auth import TokenVerifier
from lindung_shared.db import create_engine, create_sessionmaker
from lindung_shared.errors import install_error_handlers
from lindung_shared.guard import ContainErrors, RequestGuard
from lindung_shared.kafka import kafka_reachable
from lindung_shared.logging import configure_logging
from lindung_shared.metrics import install_metrics
from lindung_shared.ratelimit import RateLimiter
from lindung_shared.revocation import RevocationFeed
from lindung_shared.settings import ServiceSettings, settings_summary
from lindung_shared.worker import freeze_startup_heap

log = logging.getLogger(__name__)

Hook = Callable[[FastAPI], Awaitable[None]]

#: Set by :func:`serve`: an API process started to serve freezes the heap it started with
#: (:func:`~lindung_shared.worker.freeze_startup_heap`, as workers do), so that the cycle
#: collector's full collections no longer walk every module, client and cache made at start
#: while requests run. Not for apps built in-process by tests, where freezing each test app's
#: heap would keep every earlier test's garbage cycles for the rest of the session.
FREEZE_HEAP_ENV = "LINDUNG_FREEZE_STARTUP_HEAP"


async def database_ready(app: FastAPI, timeout: float = 3.0) -> bool:
    try:
        async with asyncio.timeout(timeout):
            async with app.state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("database is not reachable: %s", type(exc).__name__)
        return False


class LindungAPI(FastAPI):
    """FastAPI with :class:`~lindung_shared.guard.ContainErrors` around the whole stack, so
    that an error answered with a 500 never costs the client its keep-alive connection."""

    def build_middleware_stack(self) -> ASGIApp:
        return ContainErrors(super().build_middleware_stack())


def create_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    openapi_tags: list[dict[str, Any]] | None = None,
    body_limits: Mapping[str, int] | None = None,
    token_revocations: bool = True,
    kafka: bool = True,
) -> FastAPI:
    """The service's app. ``body_limits`` raises the request-body limit (bytes) for the
    exact paths it names; every other route reads at most ``settings.max_body_bytes``.
    ``token_revocations``: the process reads the revoked tokens (every service that accepts
    citizen tokens; :mod:`lindung_shared.revocation`) and is not ready until it has.
    ``kafka``: the process has Kafka clients (so ``/readyz`` asks the brokers); a web face
    without any (the portal) has no Kafka principal either."""
    if token_revocations and not kafka:
        raise ValueError("reading the token revocations needs Kafka")
    configure_logging(settings.service_name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = create_engine(settings)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        app.state.rate_limiter = RateLimiter(app.state.engine)
        app.state.token_verifier = TokenVerifier(settings)
        await app.state.token_verifier.load()
        app.state.revocation_feed = None
        if token_revocations:
            feed = RevocationFeed(
                settings.kafka_bootstrap_servers, client_id=f"{settings.service_name}-revocations"
            )
            await feed.start()
            app.state.revocation_feed = feed
            app.state.token_verifier.revocations = feed.revocations
        for hook in on_startup:
            await hook(app)
        if os.environ.get(FREEZE_HEAP_ENV) == "1":
            freeze_startup_heap()
        log.info("started", extra=settings_summary(settings))
        try:
            yield
        finally:
            for hook in reversed(on_shutdown):
                try:
                    await hook(app)
                except Exception:
                    log.exception("shutdown hook failed")
            if app.state.revocation_feed is not None:
                await app.state.revocation_feed.stop()
            await app.state.engine.dispose()
            log.info("stopped")

    otel = settings.opentelemetry
    app = LindungAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        telemetry={"tracing": otel, "metrics": otel, "logs": otel},
    )
    install_error_handlers(app)
    # Inside the metrics middleware, so refusals are counted and carry a request id.
    app.add_middleware(
        RequestGuard, default_limit=settings.max_body_bytes, limits=body_limits or {}
    )
    install_metrics(app, settings.service_name)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The service can serve: its database and Kafka answer",
        responses={503: {"description": "a dependency is unreachable"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        if kafka:
            db_ok, kafka_ok = await asyncio.gather(
                database_ready(request.app), kafka_reachable(settings.kafka_bootstrap_servers)
            )
        else:
            db_ok, kafka_ok = await database_ready(request.app), True
        checks = {"database": "ok" if db_ok else "unreachable"}
        if kafka:
            checks["kafka"] = "ok" if kafka_ok else "unreachable"
        feed = request.app.state.revocation_feed
        revocations_ok = feed is None or feed.revocations.caught_up
        if feed is not None:
            checks["token_revocations"] = "ok" if revocations_ok else "not-read-yet"
        ready = db_ok and kafka_ok and revocations_ok
        return JSONResponse(
            {"status": "ready" if ready else "not-ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    for router in routers:
        app.include_router(router)
    return app


def serve(app: FastAPI | str, settings: ServiceSettings, *, workers: int = 1) -> None:
    """Run an API process: uvicorn (uvloop, httptools) on the service's host and port, our
    JSON logs instead of uvicorn's, no access log (the metrics middleware counts requests),
    and a graceful shutdown on SIGTERM that lets requests in flight finish (10 s at most).
    With ``workers > 1``, ``app`` must be an import string ("package.module:app"), and the
    processes' metrics are kept in Prometheus' multiprocess mode (a fresh directory, removed
    afterwards), so ``/metrics`` from any of them counts every process's requests."""
    import uvicorn

    # Each API process freezes its startup heap once started (see FREEZE_HEAP_ENV); set here
    # for the processes uvicorn spawns too. Apps built in tests (no serve()) do not.
    os.environ[FREEZE_HEAP_ENV] = "1"
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="lindung-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _run(uvicorn, app, settings, workers)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run(uvicorn: Any, app: FastAPI | str, settings: ServiceSettings, workers: int) -> None:
    extra: dict[str, Any] = {}
    if workers > 1:
        # The supervisor restarts a process that has not answered within this many seconds:
        # uvicorn's 5 s killed processes still importing on a busy machine, in a loop.
        extra["timeout_worker_healthcheck"] = 120
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        workers=workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        **extra,
    )
