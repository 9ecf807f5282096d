"""What the suspected-case events mean for whom: the advisory, its upgrade to the close-contact
alert, and the managers' alert; rendered in both languages. Pure (no Kafka, no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lindung_notifier.planning import Planners
from lindung_notifier.recipients.identity import manager_recipient
from lindung_notifier.settings import Settings
from lindung_notifier.templates.render import render
from lindung_shared.events.catalogue import (
    ExposureAdvised,
    ExposureDetected,
    ExposureDetectedV2,
    VenueSuspectVisited,
    make_event,
)

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10.00 WITA
CONTACT = uuid.uuid4()
VENUE = uuid.uuid4()
PLANNERS = Planners(Settings()).by_type()


def _overlap() -> dict[str, Any]:
    return {
        "contact_person_id": CONTACT,
        "venue_id": VENUE,
        "venue_name": "Pasar Kumbasari",
        "venue_timezone": "Asia/Makassar",
        "overlap_start": START,
        "overlap_end": START + timedelta(minutes=50),
        "overlap_minutes": 50,
    }


def _rendered(intent: Any) -> tuple[str, str]:
    both = [
        render(intent.template_key, language, intent.params, timezone=intent.timezone)
        for language in ("id", "en")
    ]
    return both[0].body, both[1].body


async def test_an_advisory_is_not_a_quarantine() -> None:
    advisory_id = uuid.uuid4()
    event = make_event(
        "exposure.advised",
        ExposureAdvised(advisory_id=advisory_id, suspect_ref="S-AAAAAAAA", **_overlap()),
    )
    [intent] = await PLANNERS["exposure.advised"](None, event)  # type: ignore[arg-type]
    assert (intent.recipient, intent.kind, intent.template_key) == (
        str(CONTACT),
        "exposure_advisory",
        "exposure.advised",
    )
    assert intent.data["advisory_id"] == str(advisory_id)
    indonesian, english = _rendered(intent)
    assert "10.00 WITA" in indonesian and "bukan perintah karantina" in indonesian
    assert "not a quarantine order" in english and "S-AAAAAAAA" not in english


async def test_the_upgrade_names_its_advisory_and_a_plain_exposure_does_not() -> None:
    advisory_id = uuid.uuid4()
    upgraded = make_event(
        "exposure.detected",
        ExposureDetectedV2(
            exposure_id=uuid.uuid4(), case_ref="C-1", advisory_id=advisory_id, **_overlap()
        ),
    )
    assert upgraded.version == 2
    [intent] = await PLANNERS["exposure.detected"](None, upgraded)  # type: ignore[arg-type]
    assert (intent.kind, intent.template_key) == ("exposure", "exposure.upgraded")
    assert intent.data["advisory_id"] == str(advisory_id)
    _, english = _rendered(intent)
    assert "now confirmed" in english and "quarantine at home until 4 Dec 2026" in english
    plain = make_event(
        "exposure.detected",
        ExposureDetected(exposure_id=uuid.uuid4(), case_ref="C-2", **_overlap()),
    )
    [intent] = await PLANNERS["exposure.detected"](None, plain)  # type: ignore[arg-type]
    assert intent.template_key == "exposure.detected" and "advisory_id" not in intent.data


async def test_the_manager_is_told_as_for_a_case() -> None:
    event = make_event(
        "venue.suspect_visited",
        VenueSuspectVisited(
            suspect_ref="S-AAAAAAAA",
            venue_id=VENUE,
            manager_id="m-7",
            venue_name="Pasar Kumbasari",
            venue_timezone="Asia/Makassar",
            visit_start=START,
            visit_end=START + timedelta(minutes=50),
        ),
    )
    [intent] = await PLANNERS["venue.suspect_visited"](None, event)  # type: ignore[arg-type]
    assert (intent.recipient, intent.kind) == (manager_recipient("m-7"), "venue_suspect")
    indonesian, english = _rendered(intent)
    assert "09.00-12.00 WITA" in indonesian and "S-AAAAAAAA" not in indonesian + english
