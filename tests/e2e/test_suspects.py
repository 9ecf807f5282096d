"""Suspected cases end to end across the four services (real API and worker processes,
PostgreSQL, Kafka): the story in tests/e2e/suspects.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lindung_shared.auth import TokenIssuer
from lindung_shared.settings import ServiceSettings

from .story import Urls
from .suspects import SuspectStory
from .test_story import suite  # noqa: F401  (the running suite, started for this module)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


@pytest.fixture(scope="module")
def told(suite: Urls) -> dict[str, Any]:  # noqa: F811
    lines: list[str] = []
    story = SuspectStory(
        TokenIssuer.development(ServiceSettings()), urls=suite, narrate=lines.append
    )
    try:
        return asyncio.run(story.run())
    finally:
        print("\n".join(lines))


def test_advisory_once_upgraded_on_confirmation(told: dict[str, Any]) -> None:
    # A suspect is not a colour, and an advisory is not a quarantine.
    assert told["colour_suspected_Ayu"] == "green"
    assert told["colour_suspected_Budi"] == "green"
    assert told["redelivered"] == "duplicate"
    budi = told["inbox_Budi"]
    advisories = [n for n in budi if n["kind"] == "exposure_advisory"]
    alerts = [n for n in budi if n["kind"] == "exposure"]
    assert len(advisories) == 1, "one advisory: never twice"
    assert len(alerts) == 1, "the advisory upgraded: one close-contact alert, not a second one"
    assert alerts[0]["template_key"] == "exposure.upgraded"
    assert alerts[0]["data"]["advisory_id"] == advisories[0]["data"]["advisory_id"]
    assert "Mal Lindung" in advisories[0]["body"] and "Mal Lindung" in alerts[0]["body"]
    assert "Ayu" not in advisories[0]["body"] + alerts[0]["body"]
    assert not [n for n in budi if n["kind"] == "exposure_advisory_correction"]


def test_ruled_out_withdraws_the_advisory(told: dict[str, Any]) -> None:
    eko = told["inbox_Eko"]
    assert [n["kind"] for n in eko if "exposure" in n["kind"]].count("exposure_advisory") == 1
    corrections = [n for n in eko if n["kind"] == "exposure_advisory_correction"]
    assert len(corrections) == 1
    advisory = next(n for n in eko if n["kind"] == "exposure_advisory")
    assert corrections[0]["data"]["advisory_id"] == advisory["data"]["advisory_id"]
    assert not [n for n in eko if n["kind"] == "exposure"]
    assert told["colour_after_Eko"] == "green" and told["colour_after_Dewi"] == "green"


def test_managers_told_as_for_cases(told: dict[str, Any]) -> None:
    kinds = [n["kind"] for n in told["inbox_manager"]]
    assert kinds.count("venue_suspect") == 2
    assert kinds.count("venue_suspect_correction") == 1
    assert kinds.count("venue_case") == 1


def test_bad_condition_refused_with_its_reason(told: dict[str, Any]) -> None:
    entry = told["bad_condition"]
    assert entry["lindung"]["result"] == "rejected"
    assert entry["lindung"]["reason"] == "no-verification-status"
    assert entry["response"]["status"].startswith("422")
