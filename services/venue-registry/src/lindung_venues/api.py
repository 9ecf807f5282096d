"""The registry's API process: ``python -m lindung_venues.api``."""

from __future__ import annotations

from fastapi import FastAPI
from lindung_shared.app import create_app, serve
from lindung_shared.audit import audit_router
from lindung_shared.regions import RegencyCatalogue

from lindung_venues.qr_codes.endpoints import router as qr_codes_router
from lindung_venues.qr_keys import service as qr_keys
from lindung_venues.qr_keys.endpoints import router as qr_keys_router
from lindung_venues.qr_keys.vault import KeyVault
from lindung_venues.settings import Settings
from lindung_venues.venues.endpoints import router as venues_router
from lindung_venues.zones.endpoints import router as zones_router

DESCRIPTION = """
Venues, their signed QR codes and printable posters, zone levels and capacity rules.

QR payloads are Ed25519 JWS (`LINDUNG1:` prefix) verifiable offline with the keys from
`/.well-known/jwks.json`. Every change is announced on Kafka (`lindung.venues`,
`lindung.qr-keys`, `lindung.zones`) through the transactional outbox.
"""


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start(app: FastAPI) -> None:
        app.state.regencies = RegencyCatalogue.load(settings.extra_regencies_csv)
        app.state.key_vault = KeyVault(settings.key_encryption_key)
        async with app.state.sessionmaker() as session, session.begin():
            await qr_keys.ensure_active_key(session, app.state.key_vault)

    return create_app(
        settings=settings,
        title="Lindung venue registry",
        description=DESCRIPTION,
        routers=[venues_router, qr_codes_router, zones_router, qr_keys_router, audit_router()],
        on_startup=[start],
        openapi_tags=[
            {"name": "venues", "description": "Venues managed by their venue managers"},
            {"name": "QR codes", "description": "Signed QR codes per entrance, and posters"},
            {"name": "zones and capacity rules", "description": "PPKM levels per regency"},
            {"name": "QR signing keys", "description": "Rotation and the public JWKS"},
            {"name": "audit", "description": "Who changed what and why (append-only)"},
        ],
    )


app = build_app()


def main() -> None:
    settings = Settings()
    serve(app, settings)


if __name__ == "__main__":
    main()
