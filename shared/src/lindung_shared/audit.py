"""The append-only audit log that every service keeps in its own database (``audit_log``):
who (the token's subject and roles), did what (``action``), to what (``target``), when, and
why (``reason``, required of the caller). Written in the same transaction as the action it
records, so an action and its audit entry commit together or not at all. A trigger refuses
UPDATE, DELETE and TRUNCATE of the table.

Services create the table with :func:`create_audit_log` from one of their Alembic migrations
and write entries with :func:`record`; :func:`audit_router` serves them to admins."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from lindung_shared.auth import AdminDep, Principal
from lindung_shared.db import SessionDep

#: The ``reason`` every audited action asks for (why the action is taken).
Reason = Annotated[
    str,
    Field(
        min_length=3,
        max_length=500,
        pattern=r"\S",
        description="why this is done; kept in the append-only audit log",
        examples=["PPKM level set by the regent's instruction 443/112/2021"],
    ),
]

_DDL = (
    """
    CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        roles text[] NOT NULL,
        action text NOT NULL,
        target text NOT NULL,
        reason text NOT NULL CHECK (length(btrim(reason)) > 0),
        details jsonb NOT NULL DEFAULT '{}'::jsonb
    )
    """,
    "CREATE INDEX ix_audit_log_at ON audit_log (at)",
    "CREATE INDEX ix_audit_log_actor ON audit_log (actor, id)",
    """
    CREATE OR REPLACE FUNCTION lindung_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION lindung_refuse_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION lindung_refuse_change()
    """,
)


def create_audit_log(op: Any) -> None:
    """From a migration's ``upgrade()``: the table, its indexes and its append-only triggers."""
    for statement in _DDL:
        op.execute(statement)


def drop_audit_log(op: Any) -> None:
    op.execute("DROP TABLE audit_log")


async def record(
    session: AsyncSession,
    principal: Principal,
    action: str,
    target: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an entry in the caller's transaction."""
    await session.execute(
        text(
            "INSERT INTO audit_log (actor, roles, action, target, reason, details) "
            "VALUES (:actor, :roles, :action, :target, :reason, CAST(:details AS jsonb))"
        ),
        {
            "actor": principal.subject,
            "roles": sorted(r.value for r in principal.roles),
            "action": action,
            "target": target,
            "reason": reason.strip(),
            "details": json.dumps(details or {}, default=str),
        },
    )


class AuditLogEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    roles: list[str]
    action: str = Field(examples=["zone.level.set"])
    target: str = Field(examples=["regency:3273"])
    reason: str
    details: dict[str, Any]


class AuditLogPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {
                            "id": 41,
                            "at": "2026-12-03T09:15:00Z",
                            "actor": "portal-5d0c6f1e-0d7e-4a52-9a3e-3a1f3b0f9c11",
                            "roles": ["health_officer"],
                            "action": "zone.level.set",
                            "target": "regency:3273",
                            "reason": "Instruction of the Minister of Home Affairs 15/2021",
                            "details": {"level": 4, "venues_updated": 12},
                        }
                    ],
                    "next_before_id": None,
                }
            ]
        }
    )

    entries: list[AuditLogEntry]
    next_before_id: int | None = Field(description="pass as before_id for the next page")


def audit_router() -> APIRouter:
    """``GET /v1/audit-log``: this service's audit log, newest first (admins)."""
    router = APIRouter(tags=["audit"])

    @router.get(
        "/v1/audit-log",
        response_model=AuditLogPage,
        summary="This service's audit log, newest first (admins)",
        responses={401: {"description": "no or invalid token"}, 403: {"description": "not admin"}},
    )
    async def read_audit_log(
        _: AdminDep,
        session: SessionDep,
        actor: Annotated[str | None, Query(max_length=200)] = None,
        action: Annotated[str | None, Query(max_length=100)] = None,
        before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> AuditLogPage:
        rows = (
            await session.execute(
                text(
                    "SELECT id, at, actor, roles, action, target, reason, details FROM audit_log "
                    "WHERE (CAST(:actor AS text) IS NULL OR actor = :actor) "
                    "AND (CAST(:action AS text) IS NULL OR action = :action) "
                    "AND (CAST(:before AS bigint) IS NULL OR id < :before) "
                    "ORDER BY id DESC LIMIT :limit"
                ),
                {"actor": actor, "action": action, "before": before_id, "limit": limit},
            )
        ).all()
        entries = [AuditLogEntry.model_validate(dict(r._mapping)) for r in rows]
        return AuditLogPage(
            entries=entries, next_before_id=entries[-1].id if len(entries) == limit else None
        )

    return router
