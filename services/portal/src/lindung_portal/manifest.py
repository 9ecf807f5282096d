from pathlib import Path

from lindung_shared.manifest import ServiceManifest

SERVICE = ServiceManifest(
    name="portal",
    database_name="lindung_portal",
    migrations_dir=Path(__file__).parent / "migrations",
)
