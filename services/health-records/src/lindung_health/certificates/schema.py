"""Validation of a DCC payload against the EU DCC JSON schema (v1.3) and the EU value sets.

Hand-written rather than driven by a JSON Schema engine: the schema's value sets are only
annotations (``valueset-uri``), and a verifier must check them too; writing both in one
place keeps the rules readable. Problems name the field and never echo personal data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from lindung_health.certificates import valuesets

SCHEMA_VERSION = "1.3.0"

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_DOB = re.compile(r"^((19|20)\d\d(-\d\d){0,2})?$")
_STANDARDISED_NAME = re.compile(r"^[A-Z<]*$")
_DEVICE_ID = re.compile(r"^[0-9]{1,10}$")

CERTIFICATE_GROUPS = ("v", "t", "r")


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_date_time(value: Any) -> bool:
    if not isinstance(value, str) or len(value) < 16 or "T" not in value.upper():
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _is_dose(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_dob(value: Any) -> bool:
    return isinstance(value, str) and bool(_DOB.match(value))


def _is_day(value: Any) -> bool:
    """A full date; a date-time is accepted too, as issuers before schema 1.3 wrote them."""
    return _is_date(value) or (_is_date_time(value) and _is_date(value[:10]))


def _text(max_length: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and len(v) <= max_length


def _code(values: frozenset[str]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and v in values


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


#: (structural check, what it requires, the value set its code must belong to, if any)
Field = tuple[Callable[[Any], bool], str, frozenset[str] | None]

_STRING = (_is_text, "must be a string")
_MAX80 = (_text(80), "must be a string of at most 80 characters")
_DATE = (_is_day, "must be an ISO 8601 date")
_DOSE = (_is_dose, "must be a positive integer")

_VACCINATION: dict[str, Field] = {
    "tg": (*_STRING, valuesets.DISEASE_AGENT_TARGETED),
    "vp": (*_STRING, valuesets.VACCINE_PROPHYLAXIS),
    "mp": (*_STRING, valuesets.VACCINE_MEDICINAL_PRODUCT),
    "ma": (*_STRING, valuesets.VACCINE_MAH_MANF),
    "dn": (*_DOSE, None),
    "sd": (*_DOSE, None),
    "dt": (*_DATE, None),
    "co": (*_STRING, valuesets.COUNTRY),
    "is": (*_MAX80, None),
    "ci": (*_MAX80, None),
}
_TEST: dict[str, Field] = {
    "tg": (*_STRING, valuesets.DISEASE_AGENT_TARGETED),
    "tt": (*_STRING, valuesets.TEST_TYPE),
    "sc": (_is_date_time, "must be an ISO 8601 date-time with an offset", None),
    "tr": (*_STRING, valuesets.TEST_RESULT),
    "co": (*_STRING, valuesets.COUNTRY),
    "is": (*_MAX80, None),
    "ci": (*_MAX80, None),
}
_TEST_OPTIONAL: dict[str, Field] = {
    "nm": (*_MAX80, None),
    "ma": (_is_text, "must be a string", None),
    "tc": (*_MAX80, None),
}
_RECOVERY: dict[str, Field] = {
    "tg": (*_STRING, valuesets.DISEASE_AGENT_TARGETED),
    "fr": (*_DATE, None),
    "co": (*_STRING, valuesets.COUNTRY),
    "is": (*_MAX80, None),
    "df": (*_DATE, None),
    "du": (*_DATE, None),
    "ci": (*_MAX80, None),
}
_GROUPS: dict[str, tuple[dict[str, Field], dict[str, Field]]] = {
    "v": (_VACCINATION, {}),
    "t": (_TEST, _TEST_OPTIONAL),
    "r": (_RECOVERY, {}),
}


def _check_name(nam: Any, problems: list[str]) -> None:
    if not isinstance(nam, dict):
        problems.append("nam: must be an object")
        return
    if "fnt" not in nam:
        problems.append("nam.fnt: is required")
    for key in ("fnt", "gnt"):
        if key in nam:
            value = nam[key]
            if not (isinstance(value, str) and _STANDARDISED_NAME.match(value)):
                problems.append(f"nam.{key}: must use only A-Z and '<' (ICAO 9303)")
            elif len(value) > 80:
                problems.append(f"nam.{key}: must be at most 80 characters")
    for key in ("fn", "gn"):
        if key in nam and not _text(80)(nam[key]):
            problems.append(f"nam.{key}: must be a string of at most 80 characters")


def _check_entry(group: str, entry: Any, problems: list[str], value_sets: bool) -> None:
    if not isinstance(entry, dict):
        problems.append(f"{group}[0]: must be an object")
        return
    required, optional = _GROUPS[group]
    for key, (valid, message, codes) in (required | optional).items():
        if key not in entry:
            if key in required:
                problems.append(f"{group}[0].{key}: is required")
        elif not valid(entry[key]):
            problems.append(f"{group}[0].{key}: {message}")
        elif value_sets and codes is not None and entry[key] not in codes:
            problems.append(f"{group}[0].{key}: not in the EU value set")
    if value_sets and group == "t" and "ma" in entry and not _DEVICE_ID.match(str(entry["ma"])):
        problems.append("t[0].ma: not a rapid antigen test device id")


def _version(value: Any) -> tuple[int, ...]:
    if isinstance(value, str) and _VERSION.match(value):
        return tuple(int(part) for part in value.split("."))
    return (0, 0, 0)


def schema_problems(dcc: Any, *, value_sets: bool = True) -> list[str]:
    """Every way in which ``dcc`` breaks the DCC schema (and, unless ``value_sets`` is false,
    the EU value sets, which the JSON schema only names). Empty: valid."""
    if not isinstance(dcc, dict):
        return ["the payload must be an object"]
    problems: list[str] = []
    if not (isinstance(dcc.get("ver"), str) and _VERSION.match(dcc["ver"])):
        problems.append("ver: must be a semantic version such as 1.3.0")
    if "nam" not in dcc:
        problems.append("nam: is required")
    else:
        _check_name(dcc["nam"], problems)
    if "dob" not in dcc:
        problems.append("dob: is required")
    elif not _is_dob(dcc["dob"]):
        problems.append("dob: must be YYYY, YYYY-MM or YYYY-MM-DD within 1900-2099")
    groups = [g for g in CERTIFICATE_GROUPS if g in dcc]
    if len(groups) != 1:
        problems.append("exactly one of v, t, r is required")
    # Schema 1.3 allows one entry per certificate; earlier versions allowed several.
    single = _version(dcc.get("ver")) >= (1, 3, 0)
    for group in groups:
        entries = dcc[group]
        if not isinstance(entries, list) or not entries or (single and len(entries) != 1):
            problems.append(f"{group}: must hold {'exactly' if single else 'at least'} one entry")
            continue
        for entry in entries:
            _check_entry(group, entry, problems, value_sets)
    return problems


def certificate_type(dcc: Any) -> str | None:
    """``v``, ``t`` or ``r`` when the payload holds exactly one group."""
    if not isinstance(dcc, dict):
        return None
    groups = [g for g in CERTIFICATE_GROUPS if g in dcc]
    return groups[0] if len(groups) == 1 else None
