"""Suspected cases on the real matcher: advisories exactly once, upgraded to close contacts
when the case is confirmed, withdrawn with a correction when it is ruled out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lindung_checkin.exposure import service, suspects
from lindung_checkin.exposure.settings import ExposureSettings
from lindung_shared.events.catalogue import (
    CaseConfirmedV2,
    CaseRetracted,
    SuspectFlagged,
    SuspectRuledOut,
    validate_raw,
)
from lindung_shared.events.envelope import RawEnvelope
from sqlalchemy import text

SETTINGS = ExposureSettings()


def _visit(person: uuid.UUID, venue: dict[str, Any], hours_ago: float, hours: float) -> dict:
    start = datetime.now(UTC) - timedelta(hours=hours_ago)
    return {
        "visit_id": uuid.uuid4(),
        "person_id": person,
        "venue_id": venue["venue_id"],
        "checked_in_at": start,
        "checked_out_at": start + timedelta(hours=hours),
        "auto_checkout_at": start + timedelta(hours=4),
    }


def _flagged(person: uuid.UUID, *, days_ago: float = 0.5) -> SuspectFlagged:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    return SuspectFlagged(
        suspect_id=uuid.uuid4(),
        suspect_ref=f"S-{uuid.uuid4().hex[:8]}",
        person_id=person,
        suspected_at=at,
        traced_from=at - timedelta(days=14),
        traced_until=at + timedelta(days=10),
    )


async def _staged(sessions, ref_field: str, ref: str) -> list[tuple[str, int, dict]]:
    """The events staged for a suspect or case reference, decoded against the contracts."""
    async with sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT type, version, payload FROM outbox "
                    "WHERE payload ->> CAST(:field AS text) = :ref ORDER BY id"
                ),
                {"field": ref_field, "ref": ref},
            )
        ).all()
    out = []
    for r in rows:
        raw = RawEnvelope(
            id=uuid.uuid4(),
            type=r.type,
            version=r.version,
            occurred_at=datetime.now(UTC),
            producer="checkin",
            key="k",
            payload=r.payload,
        )
        out.append((r.type, r.version, validate_raw(raw).payload.model_dump()))
    return out


async def _in_tx(sessions, fn, *args):
    async with sessions() as session, session.begin():
        return await fn(session, *args)


async def test_advised_once_then_upgraded_to_close_contacts(
    exposure_sessions, seed, new_venue
) -> None:
    mall = new_venue("mall", name="Mal Suspek")
    suspect_person, a, b, late_only = (uuid.uuid4() for _ in range(4))
    visits = [
        _visit(suspect_person, mall, 30, 2),
        _visit(a, mall, 29.5, 1),
        _visit(b, mall, 30.5, 1),
    ]
    async with exposure_sessions() as session, session.begin():
        await seed(session, [mall], visits)
    flagged = _flagged(suspect_person)

    counts = await _in_tx(exposure_sessions, suspects.advise, flagged, SETTINGS)
    assert (counts.advisories, counts.venue_alerts) == (2, 1)
    # Redelivered: the ledger has them; nothing new.
    again = await _in_tx(exposure_sessions, suspects.advise, flagged, SETTINGS)
    assert (again.advisories, again.venue_alerts) == (0, 0)
    staged = await _staged(exposure_sessions, "suspect_ref", flagged.suspect_ref)
    advised = [p for t, _, p in staged if t == "exposure.advised"]
    assert sorted(p["contact_person_id"] for p in advised) == sorted([a, b])
    assert [t for t, _, _ in staged].count("venue.suspect_visited") == 1
    assert all(p["venue_name"] == "Mal Suspek" for p in advised)
    assert str(suspect_person) not in str(staged)

    # A visitor the suspect's window did not reach, but the case's (a later sample) does.
    async with exposure_sessions() as session, session.begin():
        await seed(
            session, [], [_visit(suspect_person, mall, 3, 1), _visit(late_only, mall, 2.5, 1)]
        )
    now = datetime.now(UTC)
    case = CaseConfirmedV2(
        case_id=uuid.uuid4(),
        case_ref=f"C-{uuid.uuid4().hex[:8]}",
        person_id=suspect_person,
        sample_taken_at=now - timedelta(hours=1),
        infectious_from=now - timedelta(days=14),
        infectious_until=now + timedelta(days=10),
        suspect_id=flagged.suspect_id,
        suspect_ref=flagged.suspect_ref,
    )
    matched = await _in_tx(exposure_sessions, service.match_case, case, SETTINGS)
    assert matched.exposures == 3
    detected = [
        (v, p)
        for t, v, p in await _staged(exposure_sessions, "case_ref", case.case_ref)
        if t == "exposure.detected"
    ]
    by_contact = {p["contact_person_id"]: (v, p) for v, p in detected}
    assert len(detected) == 3 == len(by_contact)
    advisory_of = {p["contact_person_id"]: p["advisory_id"] for p in advised}
    for contact in (a, b):
        version, payload = by_contact[contact]
        assert version == 2 and payload["advisory_id"] == advisory_of[contact]
    assert by_contact[late_only][1]["advisory_id"] is None

    # The confirmation redelivered, and the suspicion too: nothing new.
    assert (await _in_tx(exposure_sessions, service.match_case, case, SETTINGS)).exposures == 0
    assert (await _in_tx(exposure_sessions, suspects.advise, flagged, SETTINGS)).advisories == 0
    assert len(await _staged(exposure_sessions, "case_ref", case.case_ref)) == 3 + 2

    # Ruled out after the confirmation (it cannot be, but a stray event): upgraded advisories
    # are not withdrawn.
    late = SuspectRuledOut(
        suspect_id=flagged.suspect_id,
        suspect_ref=flagged.suspect_ref,
        person_id=suspect_person,
        reason="withdrawn",
        ruled_out_at=datetime.now(UTC),
    )
    assert (await _in_tx(exposure_sessions, suspects.rule_out, late, SETTINGS)).advisories == 0

    # The case retracted: its exposures, upgraded ones included, are withdrawn.
    withdrawn = await _in_tx(
        exposure_sessions,
        service.retract_case,
        CaseRetracted(
            case_id=case.case_id,
            case_ref=case.case_ref,
            person_id=suspect_person,
            retracted_at=datetime.now(UTC),
        ),
        SETTINGS,
    )
    assert withdrawn == 3


async def test_ruled_out_withdraws_each_advisory_once(exposure_sessions, seed, new_venue) -> None:
    cafe = new_venue("restaurant", name="Kopi Suspek")
    suspect_person, a = uuid.uuid4(), uuid.uuid4()
    async with exposure_sessions() as session, session.begin():
        await seed(session, [cafe], [_visit(suspect_person, cafe, 20, 1), _visit(a, cafe, 20, 1)])
    flagged = _flagged(suspect_person)
    assert (await _in_tx(exposure_sessions, suspects.advise, flagged, SETTINGS)).advisories == 1
    ruled_out = SuspectRuledOut(
        suspect_id=flagged.suspect_id,
        suspect_ref=flagged.suspect_ref,
        person_id=suspect_person,
        reason="refuted",
        ruled_out_at=datetime.now(UTC),
    )
    counts = await _in_tx(exposure_sessions, suspects.rule_out, ruled_out, SETTINGS)
    assert (counts.advisories, counts.venue_alerts) == (1, 1)
    again = await _in_tx(exposure_sessions, suspects.rule_out, ruled_out, SETTINGS)
    assert (again.advisories, again.venue_alerts) == (0, 0)
    # The suspicion redelivered after its ruling out: matches nothing.
    assert (await _in_tx(exposure_sessions, suspects.advise, flagged, SETTINGS)).advisories == 0
    staged = await _staged(exposure_sessions, "suspect_ref", flagged.suspect_ref)
    assert [t for t, _, _ in staged] == [
        "exposure.advised",
        "venue.suspect_visited",
        "exposure.advisory_withdrawn",
        "venue.suspect_visit_withdrawn",
    ]
    assert staged[0][2]["advisory_id"] == staged[2][2]["advisory_id"]
    assert staged[0][2]["contact_person_id"] == a
