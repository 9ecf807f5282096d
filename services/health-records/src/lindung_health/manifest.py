"""How the tooling (bootstrap, tests) finds this service's database and migrations."""

from __future__ import annotations

from pathlib import Path

from lindung_shared.manifest import ServiceManifest

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

SERVICE = ServiceManifest(
    name="health-records",
    database_name="lindung_health_records",
    migrations_dir=MIGRATIONS_DIR,
)
