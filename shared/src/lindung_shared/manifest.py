"""How a service tells the tooling (bootstrap, tests) about its database and migrations.

Each service exposes a :class:`ServiceManifest` under the ``lindung.services`` entry-point
group; ``lindung bootstrap`` creates and migrates every installed service's database.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path


@dataclass(frozen=True)
class ServiceManifest:
    name: str
    database_name: str
    migrations_dir: Path


def installed_services() -> list[ServiceManifest]:
    found = [ep.load() for ep in entry_points(group="lindung.services")]
    return sorted((m for m in found if isinstance(m, ServiceManifest)), key=lambda m: m.name)
