from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_PAGE = text(
    """
    SELECT vi.visit_id, vi.venue_id, vn.name AS venue_name, vi.entrance, vi.checked_in_at,
           vi.checked_out_at, vi.auto_checkout_at, vi.checkout_method, vi.source, vi.colour
    FROM visits vi
    LEFT JOIN venues vn ON vn.venue_id = vi.venue_id
    WHERE vi.person_id = :person_id
      AND (CAST(:before_at AS timestamptz) IS NULL
           OR (vi.checked_in_at, vi.visit_id) < (CAST(:before_at AS timestamptz),
                                                 CAST(:before_id AS uuid)))
    ORDER BY vi.checked_in_at DESC, vi.visit_id DESC
    LIMIT :limit
    """
)


async def page_of_visits(
    session: AsyncSession,
    person_id: uuid.UUID,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    result = await session.execute(
        _PAGE,
        {
            "person_id": person_id,
            "before_at": before[0] if before else None,
            "before_id": before[1] if before else None,
            "limit": limit,
        },
    )
    return [dict(r._mapping) for r in result]
