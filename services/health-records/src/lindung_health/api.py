"""The API process: ``python -m lindung_health.api``."""

from __future__ import annotations

from fastapi import FastAPI
from lindung_shared.app import create_app, serve
from lindung_shared.audit import audit_router as action_audit_router

from lindung_health.audit.endpoints import router as audit_router
from lindung_health.certificates.endpoints import router as certificates_router
from lindung_health.feeds.endpoints import IMPORT_PART_BYTES, IMPORT_PARTS_PATH
from lindung_health.feeds.endpoints import router as feeds_router
from lindung_health.people.civil_registry import CivilRegistry
from lindung_health.people.endpoints import router as people_router
from lindung_health.screening.endpoints import router as rules_router
from lindung_health.settings import Settings
from lindung_health.signin.endpoints import router as signin_router
from lindung_health.signin.tokens import build_issuer
from lindung_health.toolkit import Toolkit

DESCRIPTION = """People (NIK kept as a keyed hash and ciphertext), sign-in by one-time code,
national vaccination and laboratory feeds (FHIR R4), screening status by versioned rules,
cases, exposures, and the officers' audit log."""


FEED_BODY_BYTES = 2 * 1024 * 1024
CERTIFICATE_BODY_BYTES = 4_200_000


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def startup(app: FastAPI) -> None:
        app.state.toolkit = Toolkit.from_settings(settings)
        app.state.token_issuer = build_issuer(settings)
        app.state.civil_registry = CivilRegistry(settings)

    async def shutdown(app: FastAPI) -> None:
        await app.state.civil_registry.aclose()

    routers = [
        people_router,
        signin_router,
        feeds_router,
        rules_router,
        audit_router,
        action_audit_router(),
        certificates_router,
    ]
    return create_app(
        settings=settings,
        title="Lindung health-records",
        description=DESCRIPTION,
        routers=routers,
        body_limits={
            # a Bundle of up to MAX_ENTRIES (1,000) entries of ~2 KB (a record is ~500 B); any
            # 50,000-entry Bundle is refused from its declared length
            "/v1/feeds/fhir": FEED_BODY_BYTES,
            # a part of a bulk import's NDJSON (whole lines)
            IMPORT_PARTS_PATH: IMPORT_PART_BYTES,
            # a QR image: base64 in JSON (4,000,000 characters at most) or a 3 MB file
            "/v1/certificates/verify": CERTIFICATE_BODY_BYTES,
            "/v1/people/me/certificates/foreign": CERTIFICATE_BODY_BYTES,
        },
        on_startup=[startup],
        on_shutdown=[shutdown],
        openapi_tags=[
            {"name": "people", "description": "Registration, own status and records, look-ups"},
            {"name": "sign-in", "description": "One-time codes and citizen tokens"},
            {"name": "feeds", "description": "FHIR records from the national systems"},
            {"name": "rules", "description": "Versioned screening rules"},
            {"name": "audit", "description": "Officers' reads of personal data"},
        ],
    )


def main() -> None:
    settings = Settings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
