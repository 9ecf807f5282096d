"""How the tooling (bootstrap, tests) finds this service's database and migrations."""

from pathlib import Path

from lindung_shared.manifest import ServiceManifest

SERVICE = ServiceManifest(
    name="venue-registry",
    database_name="lindung_venue_registry",
    migrations_dir=Path(__file__).parent / "migrations",
)
