"""The notifier's API process: inbox, live stream, devices, preferences."""

from __future__ import annotations

from fastapi import FastAPI
from lindung_shared.app import create_app, serve
from lindung_shared.audit import audit_router

from lindung_notifier.devices.endpoints import router as devices_router
from lindung_notifier.notifications.endpoints import router as notifications_router
from lindung_notifier.notifications.hub import NotificationHub
from lindung_notifier.recipients.endpoints import router as preferences_router
from lindung_notifier.settings import Settings


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start_hub(app: FastAPI) -> None:
        dsn = settings.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        app.state.notification_hub = NotificationHub(dsn)
        await app.state.notification_hub.start()

    async def stop_hub(app: FastAPI) -> None:
        await app.state.notification_hub.stop()

    return create_app(
        settings=settings,
        title="Lindung notifier",
        description="Every alert delivered once, in the recipient's language: the in-app inbox "
        "and its live stream, push devices, language preferences, delivery status.",
        routers=[notifications_router, devices_router, preferences_router, audit_router()],
        on_startup=[start_hub],
        on_shutdown=[stop_hub],
        openapi_tags=[
            {"name": "notifications", "description": "The inbox and its live stream"},
            {"name": "devices", "description": "Push tokens"},
            {"name": "preferences", "description": "The language of my notifications"},
            {"name": "audit", "description": "Officers' reads of delivery status (append-only)"},
        ],
    )


def main() -> None:
    settings = Settings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
