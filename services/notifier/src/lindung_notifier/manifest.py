from pathlib import Path

from lindung_shared.manifest import ServiceManifest

SERVICE = ServiceManifest(
    name="notifier",
    database_name="lindung_notifier",
    migrations_dir=Path(__file__).parent / "migrations",
)
