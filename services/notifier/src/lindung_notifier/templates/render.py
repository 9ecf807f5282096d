"""Render a template in a language, with times in a venue's local zone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from lindung_notifier.templates.catalogue import MONTHS, TEMPLATES, TERMS

DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")

#: Indonesia's three zones, by the abbreviation people read on a clock.
ZONE_ABBREVIATIONS: Mapping[str, str] = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


class UnknownTemplate(LookupError):
    """No template for this key (in any language)."""

    reason = "unknown-template"


@dataclass(frozen=True)
class Term:
    """A word to translate (a colour, a reason), looked up in :data:`TERMS`."""

    code: str


@dataclass(frozen=True)
class TermList:
    codes: tuple[str, ...]


@dataclass(frozen=True)
class HourBand:
    """A stretch of a day in whole bands of hours, e.g. 09.00-12.00 WITA: when something
    happened, without the exact times (a venue manager's case alert)."""

    start_hour: int
    end_hour: int  # 24 for the day's end
    timezone: str

    #: Band width, hours: a stay is widened to these boundaries.
    WIDTH = 3

    @classmethod
    def around(cls, start: datetime, end: datetime, timezone: str) -> tuple[date, HourBand]:
        """The day the stay began (local) and the band of whole ``WIDTH``-hour blocks that
        covers it (to the day's end if it ran past midnight)."""
        tz = zone(timezone)
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        first = local_start.hour // cls.WIDTH * cls.WIDTH
        if local_end.date() > local_start.date():
            last = 24
        else:
            minutes = local_end.hour * 60 + local_end.minute
            last = min(24, max(first + cls.WIDTH, -(-minutes // (cls.WIDTH * 60)) * cls.WIDTH))
        return local_start.date(), cls(first, last, timezone)

    def format(self, language: str) -> str:
        abbreviation = ZONE_ABBREVIATIONS.get(self.timezone, self.timezone)
        sep = "." if language == "id" else ":"
        return f"{self.start_hour:02d}{sep}00-{self.end_hour:02d}{sep}00 {abbreviation}"


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


ParamValue = str | int | float | datetime | date | Term | TermList | HourBand


@lru_cache(maxsize=16)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_datetime(value: datetime, timezone: str, language: str) -> str:
    """``25 Nov 2026 14.30 WIB`` (Indonesian) / ``25 Nov 2026, 14:30 WIB`` (English)."""
    local = value.astimezone(zone(timezone))
    month = MONTHS[language][local.month - 1]
    abbreviation = ZONE_ABBREVIATIONS.get(timezone) or local.tzname() or timezone
    if language == "id":
        return (
            f"{local.day} {month} {local.year} {local.hour:02d}.{local.minute:02d} {abbreviation}"
        )
    return f"{local.day} {month} {local.year}, {local.hour:02d}:{local.minute:02d} {abbreviation}"


def format_date(value: date, language: str) -> str:
    return f"{value.day} {MONTHS[language][value.month - 1]} {value.year}"


def has_template(key: str) -> bool:
    return (key, DEFAULT_LANGUAGE) in TEMPLATES


def render(key: str, language: str, params: Mapping[str, ParamValue], *, timezone: str) -> Rendered:
    """Render ``key`` in ``language`` (falling back to Indonesian); raises UnknownTemplate."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    entry = TEMPLATES.get((key, language)) or TEMPLATES.get((key, DEFAULT_LANGUAGE))
    if entry is None:
        raise UnknownTemplate(f"no template {key!r}")
    terms = TERMS[language]
    values: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, datetime):
            values[name] = format_datetime(value, timezone, language)
        elif isinstance(value, date):
            values[name] = format_date(value, language)
        elif isinstance(value, HourBand):
            values[name] = value.format(language)
        elif isinstance(value, Term):
            values[name] = terms.get(value.code, value.code)
        elif isinstance(value, TermList):
            words = [terms.get(c, c.removeprefix("reason.")) for c in value.codes]
            values[name] = ", ".join(words) if words else terms["reason.none"]
        else:
            values[name] = str(value)
    title, body = entry
    try:
        return Rendered(title.format_map(values), body.format_map(values))
    except KeyError as exc:
        raise UnknownTemplate(f"template {key!r} needs a value for {exc.args[0]!r}") from exc
