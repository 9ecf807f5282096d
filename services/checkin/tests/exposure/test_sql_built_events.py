"""Events staged straight from SQL (the matcher's, the zone alerts) are catalogue events: each
outbox row, turned into wire bytes by the relay's own function, decodes against its contract
(type, version, payload fields and types), on its catalogue topic, keyed as the catalogue says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from lindung_checkin.exposure import service
from lindung_checkin.zones.handlers import apply_zone_change
from lindung_shared.events import decode_event, spec_for
from lindung_shared.events.catalogue import CaseRetracted, ZoneLevelChanged
from lindung_shared.outbox import envelope_bytes, staged_events
from sqlalchemy import text

from .test_matcher import SETTINGS, case_of, visit


async def test_every_event_built_in_sql_decodes_against_its_contract(
    exposure_sessions, seed, new_venue
) -> None:
    mall = new_venue("mall")
    case, contact = uuid.uuid4(), uuid.uuid4()
    confirmed = case_of(case)
    async with exposure_sessions() as session, session.begin():
        await seed(session, [mall], [visit(case, mall, 0, 120), visit(contact, mall, 60, 180)])
        await service.match_case(session, confirmed, SETTINGS)
        await service.retract_case(
            session,
            CaseRetracted(
                case_id=confirmed.case_id,
                case_ref=confirmed.case_ref,
                person_id=case,
                retracted_at=datetime.now(UTC),
            ),
        )
        await apply_zone_change(
            session,
            ZoneLevelChanged(
                regency_code="3171",
                level=4,
                previous_level=3,
                colour="red",
                changed_at=datetime.now(UTC),
            ),
            alert_days=3,
        )
        rows = (
            await session.execute(
                text(
                    "SELECT event_id, type, version, occurred_at, producer, key, payload::text, "
                    "topic FROM outbox ORDER BY id"
                )
            )
        ).all()
        await session.rollback()
    seen = set()
    for row in rows:
        envelope = decode_event(envelope_bytes(row[:7]))
        spec = spec_for(envelope.type, envelope.version)
        assert row.topic == spec.topic
        assert envelope.key == spec.key_of(envelope.payload)
        assert envelope.producer == spec.producer
        seen.add(envelope.type)
    assert seen >= {
        "exposure.detected",
        "venue.case_visited",
        "exposure.retracted",
        "venue.case_visit_retracted",
        "zone.visitor_alert",
    }


def test_a_payload_that_strays_from_its_contract_is_refused_when_built() -> None:
    fields = {
        "exposure_id": "r.e",
        "case_ref": "r.c",
        "contact_person_id": "r.p",
        "venue_id": "r.v",
    }
    assert "jsonb_build_object" in staged_events("exposure.retracted", key="r.p", payload=fields)
    without_venue = {k: v for k, v in fields.items() if k != "venue_id"}
    with pytest.raises(ValueError, match="missing"):
        staged_events("exposure.retracted", key="r.p", payload=without_venue)
    with pytest.raises(ValueError, match="not in the contract"):
        staged_events("exposure.retracted", key="r.p", payload={**fields, "surname": "r.s"})
    with pytest.raises(ValueError, match="key"):
        staged_events("exposure.retracted", key="r.v", payload=fields)
