"""Screening rules: versioned data, read by health officers, published by admins (audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from lindung_shared import audit
from lindung_shared.auth import AdminDep, Principal, Role, require_roles
from lindung_shared.db import SessionDep
from lindung_shared.errors import Conflict, NotFound

from lindung_health.deps import utcnow
from lindung_health.models import ScreeningRule
from lindung_health.screening import repository
from lindung_health.screening.rules import RuleParameters
from lindung_health.screening.schemas import RuleIn, RuleOut

router = APIRouter(prefix="/v1/rules", tags=["rules"])

#: Officers read the rules in force and their versions; admins publish.
ReaderDep = Annotated[Principal, Depends(require_roles(Role.HEALTH_OFFICER, Role.ADMIN))]


def _out(rule: ScreeningRule, in_force_id: str | None) -> RuleOut:
    return RuleOut(
        id=rule.id,
        valid_from=rule.valid_from,
        valid_to=rule.valid_to,
        description=rule.description,
        parameters=RuleParameters.model_validate(rule.parameters),
        created_by=rule.created_by,
        created_at=rule.created_at,
        in_force=rule.id == in_force_id,
    )


@router.get("", summary="Every rule version, newest first (health officers, admins)")
async def list_rules(_: ReaderDep, session: SessionDep) -> list[RuleOut]:
    current = await repository.rule_at(session, utcnow())
    rules = await repository.list_rules(session)
    return [_out(r, current.id if current else None) for r in rules]


@router.get("/current", summary="The rule version in force now (health officers, admins)")
async def current_rule(_: ReaderDep, session: SessionDep) -> RuleOut:
    current = await repository.rule_at(session, utcnow())
    if current is None:
        raise NotFound("no rule is in force now")
    return _out(current, current.id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Publish a new rule version (admins; audited)",
    description=(
        "Versions are never edited: publish a new one. From `valid_from` on, the version with "
        "the latest `valid_from` that has not ended decides. Every status is brought up for "
        "recomputation at that moment (at once if it is already past); the worker's sweeper "
        "recomputes them in batches and records the version in each status. The `reason` "
        "goes to the append-only audit log."
    ),
    responses={
        403: {"description": "needs the admin role"},
        409: {"description": "a version with this id exists"},
    },
)
async def publish_rule(body: RuleIn, principal: AdminDep, session: SessionDep) -> RuleOut:
    now = utcnow()
    if await repository.get_rule(session, body.id) is not None:
        raise Conflict(f"rule version {body.id} already exists; publish a new version id")
    rule = ScreeningRule(
        id=body.id,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        parameters=body.parameters.model_dump(mode="json"),
        description=body.description,
        created_by=principal.subject,
        created_at=now,
    )
    await repository.insert_rule(session, rule)
    await repository.make_all_due(session, max(body.valid_from, now))
    await audit.record(
        session,
        principal,
        "screening_rule.publish",
        f"screening_rule:{rule.id}",
        body.reason,
        {"valid_from": body.valid_from, "valid_to": body.valid_to},
    )
    current = await repository.rule_at(session, now)
    return _out(rule, current.id if current else None)
