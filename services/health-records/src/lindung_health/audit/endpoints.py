"""The officer audit log (read-only through the API)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from lindung_shared.auth import Principal, Role, require_roles
from lindung_shared.db import SessionDep

from lindung_health.audit import repository
from lindung_health.audit.schemas import AuditEntry, AuditPage

router = APIRouter(prefix="/v1/audit", tags=["audit"])


ReaderDep = Annotated[Principal, Depends(require_roles(Role.HEALTH_OFFICER, Role.ADMIN))]


@router.get(
    "",
    summary="Officer reads of personal data, newest first (an officer: their own; admins: all)",
)
async def list_audit(
    principal: ReaderDep,
    session: SessionDep,
    person_id: uuid.UUID | None = None,
    officer_id: Annotated[str | None, Query(max_length=200)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    if not principal.has(Role.ADMIN):
        officer_id = principal.subject
    rows = await repository.search(
        session, person_id=person_id, officer_id=officer_id, before_id=before_id, limit=limit
    )
    entries = [
        AuditEntry(
            id=r.id,
            officer_id=r.officer_id,
            person_id=r.person_id,
            action=r.action,
            purpose=r.purpose,
            at=r.at,
        )
        for r in rows
    ]
    return AuditPage(
        entries=entries, next_before_id=entries[-1].id if len(entries) == limit else None
    )
