"""``GET /v1/visits``: the citizen's own history, newest first, keyset-paginated."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from lindung_shared.auth import CitizenDep
from lindung_shared.db import SessionDep
from lindung_shared.errors import Unprocessable

from lindung_checkin.checkins.endpoints import person_of
from lindung_checkin.visits import repository
from lindung_checkin.visits.schemas import Visit, VisitPage

router = APIRouter(prefix="/v1/visits", tags=["visits"])


def _parse_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, _, visit_id = cursor.partition("|")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed, uuid.UUID(visit_id)
    except ValueError:
        raise Unprocessable("the cursor is not one this API gave out", code="bad-cursor") from None


@router.get("", summary="Your own visits, newest first", response_model=VisitPage)
async def list_visits(
    principal: CitizenDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=100, description="next_cursor of the previous page")
    ] = None,
) -> VisitPage:
    before = _parse_cursor(cursor) if cursor else None
    rows = await repository.page_of_visits(
        session, person_of(principal), before=before, limit=limit
    )
    items = [Visit.model_validate(r) for r in rows]
    next_cursor = (
        f"{items[-1].checked_in_at.isoformat()}|{items[-1].visit_id}"
        if len(items) == limit
        else None
    )
    return VisitPage(items=items, next_cursor=next_cursor)
