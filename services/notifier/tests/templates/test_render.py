from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lindung_notifier.templates.catalogue import TEMPLATES
from lindung_notifier.templates.render import (
    ZONE_ABBREVIATIONS,
    HourBand,
    Term,
    TermList,
    UnknownTemplate,
    format_datetime,
    render,
)

OFFSETS = {"Asia/Jakarta": 7, "Asia/Makassar": 8, "Asia/Jayapura": 9}


def test_every_template_exists_in_both_languages_with_the_same_placeholders() -> None:
    keys = {k for k, _ in TEMPLATES}
    for key in keys:
        fields = []
        for language in ("id", "en"):
            assert (key, language) in TEMPLATES, f"{key} has no {language} template"
            title, body = TEMPLATES[(key, language)]
            fields.append(
                {f for _, f, _, _ in string.Formatter().parse(title + body) if f is not None}
            )
        assert fields[0] == fields[1], key


def test_exposure_in_both_languages_with_the_venue_local_time() -> None:
    start = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)  # 14.30 WITA
    params = {
        "venue_name": "Pasar Badung",
        "start": start,
        "end": start + timedelta(minutes=45),
        "quarantine_until": (start + timedelta(days=14)).date(),
    }
    indonesian = render("exposure.detected", "id", params, timezone="Asia/Makassar")
    english = render("exposure.detected", "en", params, timezone="Asia/Makassar")
    assert "Pasar Badung pada 25 Nov 2026 14.30 WITA sampai 25 Nov 2026 15.15 WITA" in (
        indonesian.body
    )
    assert "karantina mandiri sampai 9 Des 2026" in indonesian.body
    assert "from 25 Nov 2026, 14:30 WITA to 25 Nov 2026, 15:15 WITA" in english.body
    assert "until 9 Dec 2026" in english.body
    assert indonesian.title != english.title


def test_terms_are_translated() -> None:
    params = {
        "colour": Term("colour.black"),
        "reasons": TermList(("reason.quarantine",)),
        "valid_until": datetime(2026, 12, 9, 17, 0, tzinfo=UTC),
    }
    assert (
        "(karantina) sampai 10 Des 2026 00.00 WIB"
        in render("status.black", "id", params, timezone="Asia/Jakarta").body
    )
    assert (
        "(quarantine) until 10 Dec 2026, 00:00 WIB"
        in render("status.black", "en", params, timezone="Asia/Jakarta").body
    )


def test_unknown_language_falls_back_to_indonesian() -> None:
    assert render("case.retracted", "fr", {}, timezone="Asia/Jakarta").title.startswith("Koreksi")


def test_unknown_template_key_raises() -> None:
    with pytest.raises(UnknownTemplate):
        render("zone.green", "id", {}, timezone="Asia/Jakarta")


def test_missing_placeholder_value_is_an_unknown_template_not_a_crash() -> None:
    with pytest.raises(UnknownTemplate):
        render("exposure.detected", "id", {}, timezone="Asia/Jakarta")


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    tz=st.sampled_from(sorted(OFFSETS)),
    language=st.sampled_from(["id", "en"]),
)
def test_times_are_shown_in_the_zone_with_its_abbreviation(
    moment: datetime, tz: str, language: str
) -> None:
    shown = format_datetime(moment, tz, language)
    local = moment + timedelta(hours=OFFSETS[tz])  # Indonesia has no daylight saving
    separator = "." if language == "id" else ":"
    assert shown.endswith(f"{local.hour:02d}{separator}{local.minute:02d} {ZONE_ABBREVIATIONS[tz]}")
    assert shown.startswith(f"{local.day} ")
    assert str(local.year) in shown


@pytest.mark.parametrize(
    ("start", "end", "day", "band"),
    [
        ((10, 10), (11, 15), 20, (9, 12)),
        ((11, 50), (12, 20), 20, (9, 15)),
        ((9, 0), (9, 0), 20, (9, 12)),
        ((9, 0), (12, 0), 20, (9, 12)),
        ((0, 5), (0, 40), 20, (0, 3)),
        ((22, 30), (25, 0), 20, (21, 24)),  # past midnight: to the day's end
    ],
)
def test_a_stay_is_widened_to_three_hour_bands_of_its_day(start, end, day, band) -> None:
    tz = ZoneInfo("Asia/Makassar")
    midnight = datetime(2026, 11, 20, tzinfo=tz)
    found_day, found = HourBand.around(
        midnight + timedelta(hours=start[0], minutes=start[1]),
        midnight + timedelta(hours=end[0], minutes=end[1]),
        "Asia/Makassar",
    )
    assert found_day.day == day
    assert (found.start_hour, found.end_hour) == band
    assert found.format("en") == f"{band[0]:02d}:00-{band[1]:02d}:00 WITA"
