"""The door's SQL (``checkin_scan``, ``checkin_checkout``) against its pure-Python model
(:mod:`lindung_checkin.checkins.rules`) over random scan sequences, on real PostgreSQL.

Each example sets up venues (small capacities, some with opening hours, one perhaps closed),
people (colours, some expired, some unknown), a sector rule set and revoked codes in one
transaction, then sends the same scans and explicit check-outs to both in time order and
compares every answer, the present counts and every visit's check-out, and rolls back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from lindung_checkin.checkins.rules import Answer, Door, Hours, Scan, Status, Venue
from lindung_checkin.database import asyncpg_dsn
from lindung_checkin.sql import HERE as SQL_DIR

START = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(), UTC)
CATEGORIES = ("mall", "office", "healthcare")
COLOURS = ("green", "yellow", "red", "black")
_MOSTLY_ADMITTED = ("green", "green", "green", "yellow", "red", "black")
TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


@st.composite
def doors(draw: st.DrawFn) -> tuple[Door, list[tuple[str, Any]]]:
    venues: dict[str, Venue] = {}
    for i in range(draw(st.integers(1, 2))):
        hours: list[Hours] = []
        if draw(st.integers(0, 2)) == 0:
            for _ in range(draw(st.integers(1, 4))):
                opens = time(draw(st.sampled_from([0, 6, 8, 18, 22])))
                closes = time(draw(st.sampled_from([2, 6, 12, 20, 23])))
                hours.append(Hours(draw(st.integers(0, 6)), opens, closes))
        venue_id = str(uuid.uuid4())
        venues[venue_id] = Venue(
            venue_id=venue_id,
            category=draw(st.sampled_from(CATEGORIES)),
            capacity=draw(st.integers(1, 2)),
            max_stay=timedelta(minutes=draw(st.sampled_from([30, 90, 240]))),
            timezone=draw(st.sampled_from(TIMEZONES)),
            hours=tuple(hours),
            closed=i > 0 and draw(st.integers(0, 5)) == 0,
            operating_since=draw(
                st.one_of(
                    st.none(),
                    st.sampled_from([0, 4, 6, 60, 300]).map(lambda m: START + timedelta(minutes=m)),
                )
            ),
        )
    unknown_venue = str(uuid.uuid4())  # signed, but not registered here
    people = [str(uuid.uuid4()) for _ in range(draw(st.integers(1, 3)))]
    statuses = {}
    for person in people:
        if draw(st.integers(0, 5)) > 0:
            valid = None
            if draw(st.booleans()):
                valid = START + timedelta(minutes=draw(st.integers(0, 1440)))
            statuses[person] = Status(draw(st.sampled_from(_MOSTLY_ADMITTED)), valid)
    rules = {
        (c, k): draw(st.sampled_from(["admit", "admit_with_check", "refuse"]))
        for c in CATEGORIES
        for k in COLOURS
        if draw(st.integers(0, 3)) == 0
    }
    revoked_qr = str(uuid.uuid4())
    door = Door(venues=venues, rules=rules, statuses=statuses, revoked={revoked_qr})
    steps: list[tuple[str, Any]] = []
    minute = 0
    client_ids: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(1, 20))):
        minute += draw(st.sampled_from([0, 1, 5, 10, 29, 30, 60, 90, 240]))
        at = START + timedelta(minutes=minute)
        person = draw(st.sampled_from(people))
        if draw(st.integers(0, 6)) == 0:
            steps.append(("checkout", (person, at)))
            continue
        if client_ids and draw(st.integers(0, 5)) == 0:
            person, client_id = draw(st.sampled_from(client_ids))
        else:
            client_id = draw(st.one_of(st.none(), st.just(f"c-{minute}-{len(steps)}")))
            if client_id is not None:
                client_ids.append((person, client_id))
        venue_id = draw(st.sampled_from(list(venues)))
        if draw(st.integers(0, 9)) == 0:
            venue_id = unknown_venue
        steps.append(
            (
                "scan",
                Scan(
                    person_id=person,
                    venue_id=venue_id,
                    at=at,
                    visit_id=str(uuid.uuid4()),
                    live=draw(st.integers(0, 5)) > 0,
                    client_id=client_id,
                    offline=client_id is not None and draw(st.booleans()),
                    qr_id=revoked_qr if draw(st.integers(0, 9)) == 0 else str(uuid.uuid4()),
                    checked_out_at=at + timedelta(minutes=draw(st.sampled_from([0, 20, 90, 300])))
                    if draw(st.booleans())
                    else None,
                ),
            )
        )
    return door, steps


async def _set_up(conn: asyncpg.Connection, door: Door, version: str) -> None:
    for v in door.venues.values():
        hours = [
            {"weekday": h.weekday, "opens": h.opens.isoformat(), "closes": h.closes.isoformat()}
            for h in v.hours
        ]
        await conn.execute(
            "INSERT INTO venues (venue_id, manager_id, name, category, regency_code, timezone, "
            "capacity, effective_capacity, max_stay_minutes, opening_hours, status, updated_at, "
            "operating_since) "
            "VALUES ($1, 'm', 'V', $2, '3171', $3, $4, $4, $5, $6::jsonb, $7, now(), $8)",
            uuid.UUID(v.venue_id),
            v.category,
            v.timezone,
            v.capacity,
            int(v.max_stay.total_seconds() // 60),
            orjson.dumps(hours).decode(),
            "closed" if v.closed else "active",
            v.operating_since,
        )
    for person, status in door.statuses.items():
        await conn.execute(
            "INSERT INTO person_status (person_id, colour, valid_until, rule_version, changed_at) "
            "VALUES ($1, $2, $3, 'r', now())",
            uuid.UUID(person),
            status.colour,
            status.valid_until,
        )
    await conn.execute(
        "INSERT INTO sector_rule_sets (version, valid_from, description) "
        "VALUES ($1, now() + interval '100 years', 'property test')",
        version,
    )
    await conn.executemany(
        "INSERT INTO sector_rules (version, category, colour, decision) VALUES ($1, $2, $3, $4)",
        [(version, c, k, d) for (c, k), d in door.rules.items()],
    )
    for qr in door.revoked:
        await conn.execute(
            "INSERT INTO revoked_qr_codes (qr_id, venue_id, revoked_at) VALUES ($1, $2, now())",
            uuid.UUID(qr),
            uuid.uuid4(),
        )


def _answer_of(row: asyncpg.Record) -> Answer:
    def s(v: Any) -> str | None:
        return None if v is None else str(v)

    return Answer(
        outcome=row["o_outcome"],
        visit_id=s(row["o_visit_id"]),
        reason=row["o_reason"],
        colour=row["o_colour"],
        present=row["o_present"],
        checked_in_at=row["o_checked_in_at"] if row["o_outcome"] in _TIMED else None,
        auto_checkout_at=row["o_auto_checkout_at"],
        replayed=row["o_replayed"],
        closed_visit_id=s(row["o_closed_visit_id"]),
    )


_TIMED = {"admitted", "refused", "checked_out", "recorded"}


def _comparable(answer: Answer) -> Answer:
    if answer.outcome in _TIMED:
        return answer
    # Not a decision (unknown venue, closed, revoked, held): only the outcome matters.
    return Answer(answer.outcome)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=doors())
async def test_the_sql_door_decides_as_the_python_model(db_settings, case) -> None:
    door, steps = case
    conn = await asyncpg.connect(asyncpg_dsn(db_settings))
    version = f"prop-{uuid.uuid4().hex[:8]}"
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            await _set_up(conn, door, version)
            for kind, step in steps:
                if kind == "checkout":
                    person, at = step
                    current = door.open_visits.get(person)
                    if current is None:
                        continue
                    expected = door.check_out(person, current.visit_id, at)
                    row = await conn.fetchrow(
                        "SELECT * FROM checkin_checkout($1, $2, $3)",
                        uuid.UUID(person),
                        uuid.UUID(current.visit_id),
                        at,
                    )
                    assert row["o_found"]
                    assert (row["o_checked_out_at"], row["o_checkout_method"]) == expected
                    continue
                s: Scan = step
                row = await conn.fetchrow(
                    "SELECT * FROM checkin_scan($1, $2, $3, 'main', $4, $5, $6, $7, $8, $9, $10)",
                    uuid.UUID(s.person_id),
                    uuid.UUID(s.venue_id),
                    None if s.qr_id is None else uuid.UUID(s.qr_id),
                    s.at,
                    s.client_id,
                    "offline" if s.offline else "online",
                    s.live,
                    version,
                    uuid.UUID(s.visit_id),
                    s.checked_out_at,
                )
                expected = door.scan(s)
                event(f"{expected.outcome}:{expected.reason}")
                assert _comparable(_answer_of(row)) == _comparable(expected), s
            present = dict(
                await conn.fetch(
                    "SELECT venue_id::text, present FROM venue_occupancy "
                    "WHERE venue_id = ANY($1::uuid[])",
                    list(door.venues),
                )
            )
            assert present == {v: door.present.get(v, 0) for v in door.venues}
            visits = {
                str(r["visit_id"]): r
                for r in await conn.fetch(
                    "SELECT * FROM visits WHERE venue_id = ANY($1::uuid[])", list(door.venues)
                )
            }
            assert set(visits) == set(door.visits)
            for visit_id, (_, _, checked_in, auto, counted) in door.visits.items():
                row = visits[visit_id]
                assert (row["checked_in_at"], row["auto_checkout_at"], row["counted"]) == (
                    checked_in,
                    auto,
                    counted,
                )
                closed = door.closed.get(visit_id, (None, None))
                assert (row["checked_out_at"], row["checkout_method"]) == closed
            opened = {
                str(r["person_id"]): str(r["visit_id"])
                for r in await conn.fetch(
                    "SELECT person_id, visit_id FROM open_visits WHERE venue_id = ANY($1::uuid[])",
                    list(door.venues),
                )
            }
            assert opened == {p: v.visit_id for p, v in door.open_visits.items()}
        finally:
            await tx.rollback()
    finally:
        await conn.close()


async def test_the_migrated_database_runs_the_current_text_of_every_function(db_settings) -> None:
    """Each function's current text lives in ``sql/<name>.sql``; a migrated database runs
    exactly that body (a file edited without a migration fails the migrations themselves)."""
    files = sorted(SQL_DIR.glob("*.sql"))
    assert {f.stem for f in files} >= {"checkin_scan", "checkin_scan_batch", "checkin_checkout"}
    conn = await asyncpg.connect(asyncpg_dsn(db_settings))
    try:
        for file in files:
            body = file.read_text().split("$$")[1]
            installed = await conn.fetchval(
                "SELECT prosrc FROM pg_proc WHERE proname = $1", file.stem
            )
            assert " ".join(installed.split()) == " ".join(body.split()), file.name
    finally:
        await conn.close()
