"""The check-in API process: ``python -m lindung_checkin.api``."""

from __future__ import annotations

from fastapi import FastAPI
from lindung_shared.app import create_app, serve

from lindung_checkin.checkins.endpoints import router as checkins_router
from lindung_checkin.checkins.grouping import ScanGrouper
from lindung_checkin.checkins.service import Door, group_limit
from lindung_checkin.database import create_pool
from lindung_checkin.exposure.endpoints import router as exposure_router
from lindung_checkin.settings import Settings
from lindung_checkin.trust.cache import QrKeyCache, RuleVersionCache
from lindung_checkin.venues.endpoints import regency_router
from lindung_checkin.venues.endpoints import router as venues_router
from lindung_checkin.visits.endpoints import router as visits_router


async def _open_door(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    # Every connection opened at start: none is dialled on the hot path under load.
    pool = await create_pool(settings, min_size=settings.database_pool_size)
    keys = QrKeyCache(
        refresh_seconds=settings.qr_keys_refresh_seconds,
        min_reload_seconds=settings.qr_keys_min_reload_seconds,
    )
    rules = RuleVersionCache(refresh_seconds=settings.sector_rules_refresh_seconds)
    await keys.load(pool)
    await rules.load(pool)
    grouper = ScanGrouper(
        pool,
        max_group=settings.scan_group_max,
        max_in_flight=settings.database_pool_size - 2,
        limit=group_limit(settings),
    )
    app.state.door = Door(
        settings=settings,
        pool=pool,
        keys=keys,
        rules=rules,
        grouper=grouper,
        limiter=app.state.rate_limiter,
    )


async def _close_door(app: FastAPI) -> None:
    door: Door | None = getattr(app.state, "door", None)
    if door is not None:
        await door.pool.close()


#: The largest offline batch item, bytes of JSON (see the batch route's body limit).
BATCH_ITEM_BYTES = 2_400


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_app(
        settings=settings,
        title="Lindung check-in",
        description=(
            "Venue check-in: the scanned QR code is verified offline, the person screened at "
            "the door, capacity enforced exactly, the visit recorded before the answer. "
            "Check-out, offline batches, visit history, occupancy and statistics for managers."
        ),
        routers=[checkins_router, visits_router, venues_router, regency_router, exposure_router],
        # An offline batch: up to batch_max_items items of at most ~2.4 KB each (a 2,048-
        # character QR code, a client id and a time); every other route: the default 64 KiB.
        body_limits={"/v1/checkins/batch": settings.batch_max_items * BATCH_ITEM_BYTES + 1024},
        on_startup=[_open_door],
        on_shutdown=[_close_door],
        openapi_tags=[
            {"name": "check-in", "description": "The citizen's door."},
            {"name": "visits", "description": "The citizen's own history."},
            {"name": "venues", "description": "Occupancy and statistics for managers."},
            {"name": "exposure", "description": "The matching parameters, for health officers."},
        ],
    )
    return app


settings = Settings()
app = build_app(settings)


def main() -> None:
    # Several worker processes share the port (the door is stateless: capacity is enforced
    # in PostgreSQL), e.g. CHECKIN_API_WORKERS=2 on a two-core machine.
    serve(
        "lindung_checkin.api:app" if settings.api_workers > 1 else app,
        settings,
        workers=settings.api_workers,
    )


if __name__ == "__main__":
    main()
