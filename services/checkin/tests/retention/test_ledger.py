"""The exposure ledger's purge: a case whose visits are past their retention goes, with every
contact and venue visit it raised; a recent case stays whole."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from lindung_checkin.retention.ledger import ledger_purge
from lindung_shared.metrics import PURGED_ROWS
from lindung_shared.retention import run_purges
from sqlalchemy import text

NOW = datetime.now(UTC)


async def _case(sessions, infectious_until: datetime | None, confirmed_at: datetime) -> uuid.UUID:
    case_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO exposure_cases (case_id, case_ref, person_id, infectious_from, "
                "infectious_until, confirmed_at) VALUES (:c, :ref, :p, :f, :u, :at)"
            ),
            {
                "c": case_id,
                "ref": f"C-{case_id.hex[:8]}",
                "p": uuid.uuid4(),
                "f": None if infectious_until is None else infectious_until - timedelta(days=12),
                "u": infectious_until,
                "at": confirmed_at,
            },
        )
        for _ in range(2):
            await session.execute(
                text(
                    "INSERT INTO reported_exposures (case_id, contact_person_id, exposure_id, "
                    "case_ref, venue_id, case_visit_id, overlap_start, overlap_end, "
                    "overlap_minutes) VALUES (:c, :p, :e, 'C', :v, :cv, :s, :s, 30)"
                ),
                {
                    "c": case_id,
                    "p": uuid.uuid4(),
                    "e": uuid.uuid4(),
                    "v": uuid.uuid4(),
                    "cv": uuid.uuid4(),
                    "s": confirmed_at,
                },
            )
            await session.execute(
                text(
                    "INSERT INTO reported_case_visits (case_id, visit_id, venue_id, visit_start, "
                    "visit_end) VALUES (:c, :vi, :v, :s, :s)"
                ),
                {"c": case_id, "vi": uuid.uuid4(), "v": uuid.uuid4(), "s": confirmed_at},
            )
    return case_id


async def _rows(sessions, case_id: uuid.UUID) -> tuple[int, int, int]:
    async with sessions() as session:
        counts = []
        for table in ("exposure_cases", "reported_exposures", "reported_case_visits"):
            found = await session.execute(
                text(f"SELECT count(*) FROM {table} WHERE case_id = :c"), {"c": case_id}
            )
            counts.append(found.scalar_one())
        return counts[0], counts[1], counts[2]


async def test_old_cases_leave_the_ledger_with_what_they_raised(sessions) -> None:
    old = await _case(sessions, NOW - timedelta(days=22), NOW - timedelta(days=30))
    old_unknown_period = await _case(sessions, None, NOW - timedelta(days=25))
    recent = await _case(sessions, NOW - timedelta(days=20), NOW - timedelta(days=30))
    before = PURGED_ROWS.labels("checkin", "exposure_ledger")._value.get()

    done = await run_purges(sessions, "checkin", [ledger_purge(NOW, 21)], batch_size=1)

    assert done["exposure_ledger"] >= 2
    assert await _rows(sessions, old) == (0, 0, 0)
    assert await _rows(sessions, old_unknown_period) == (0, 0, 0)
    assert await _rows(sessions, recent) == (1, 2, 2)
    assert PURGED_ROWS.labels("checkin", "exposure_ledger")._value.get() >= before + 2
