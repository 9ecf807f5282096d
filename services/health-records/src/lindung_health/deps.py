"""FastAPI dependencies of this service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from lindung_health.toolkit import Toolkit


def _toolkit(request: Request) -> Toolkit:
    toolkit: Toolkit = request.app.state.toolkit
    return toolkit


def utcnow() -> datetime:
    return datetime.now(UTC)


ToolkitDep = Annotated[Toolkit, Depends(_toolkit)]
