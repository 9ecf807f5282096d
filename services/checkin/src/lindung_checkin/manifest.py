"""How `lindung bootstrap` and the tests find this service's database and migrations."""

from __future__ import annotations

from pathlib import Path

from lindung_shared.manifest import ServiceManifest

SERVICE = ServiceManifest(
    name="checkin",
    database_name="lindung_checkin",
    migrations_dir=Path(__file__).parent / "migrations",
)
