"""FastAPI dependencies of this service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from lindung_health.people.civil_registry import CivilRegistry
from lindung_health.toolkit import Toolkit


def _toolkit(request: Request) -> Toolkit:
    toolkit: Toolkit = request.app.state.toolkit
    return toolkit


def utcnow() -> datetime:
    return datetime.now(UTC)


def _civil_registry(request: Request) -> CivilRegistry:
    registry: CivilRegistry = request.app.state.civil_registry
    return registry


ToolkitDep = Annotated[Toolkit, Depends(_toolkit)]
CivilRegistryDep = Annotated[CivilRegistry, Depends(_civil_registry)]
