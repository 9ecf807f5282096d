"""What a dead letter may carry: enough to diagnose, nothing personal.

A message that no consumer could handle used to be copied whole to ``lindung.dead-letter``:
sign-in codes, phone numbers and FHIR records with NIKs and names, kept for days on a topic
every operator reads. A dead letter now carries the envelope's identity (id, type, version,
time, producer), the payload's field names with only their ids and times (UUIDs and
timestamps) and a few non-personal enumerations kept, and the error with digit runs, SQL
parameters and quoted values blanked. The original stays where it was, at the offset named in
the ``dlq-source-*`` headers, for as long as its own topic keeps it: replay from there.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

REDACTED = "<redacted>"
SCRUBBED_FORMAT = b"lindung-dead-letter-v1"

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
#: Non-personal enumerations worth keeping to diagnose (values still checked for shape).
_SAFE_FIELDS = frozenset(
    (
        "source",
        "colour",
        "previous_colour",
        "status",
        "level",
        "rule_version",
        "language",
        "regency_code",
        "category",
        "timezone",
        "venue_timezone",
    )
)
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_./:-]{1,64}$")
_SAFE_KEY = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
_ENVELOPE_FIELDS = ("id", "type", "version", "occurred_at", "producer")

_DIGITS = re.compile(r"\+?\d[\d \-]{4,}\d")
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s|$)", re.DOTALL)
_DETAIL_VALUES = re.compile(r"=\(.*?\)")
_QUOTED = re.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"")


def scrub_text(text: str) -> str:
    """An error message without the values that may sit in it (SQL parameters, key values
    in a constraint's DETAIL, quoted strings, numbers of six digits or more)."""
    text = _SQL_PARAMETERS.sub("[parameters: redacted]", text)
    text = _DETAIL_VALUES.sub("=(redacted)", text)
    text = _QUOTED.sub("'…'", text)
    return _DIGITS.sub("<digits>", text)


def scrub_key(key: bytes | None) -> bytes | None:
    """Partition keys are ids (UUIDs), regency codes or feed names; anything else is blanked."""
    if key is None:
        return None
    text = key.decode(errors="replace")
    if _UUID.match(text) or _SAFE_KEY.match(text) or re.fullmatch(r"\d{4}", text):
        return key
    return REDACTED.encode()


def scrub_value(value: bytes | None) -> bytes:
    """The dead letter's value: the envelope's identity and the payload's shape, ids and
    times; nothing else of the original."""
    out: dict[str, Any] = {"format": SCRUBBED_FORMAT.decode()}
    try:
        data = orjson.loads(value) if value is not None else None
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        out["undecodable"] = True
        out["size"] = len(value or b"")
        return orjson.dumps(out)
    for field in _ENVELOPE_FIELDS:
        item = data.get(field)
        version = field == "version" and isinstance(item, int) and not isinstance(item, bool)
        if version or (isinstance(item, str) and _safe_scalar(field, item, envelope=True)):
            out[field] = item
        elif field in data:
            out[field] = REDACTED
    key = data.get("key")
    if isinstance(key, str):
        scrubbed = scrub_key(key.encode())
        out["key"] = scrubbed.decode() if scrubbed is not None else None
    payload = data.get("payload")
    if isinstance(payload, dict):
        out["payload"] = {
            str(name)[:64]: _scrub_field(str(name), item) for name, item in payload.items()
        }
    elif "payload" in data:
        out["payload"] = REDACTED
    return orjson.dumps(out)


def _safe_scalar(field: str, value: str, *, envelope: bool = False) -> bool:
    if _UUID.match(value) or _TIMESTAMP.match(value):
        return True
    if envelope and field in ("type", "producer"):
        return bool(_SAFE_KEY.match(value))
    return field in _SAFE_FIELDS and bool(_SAFE_VALUE.match(value)) and not _DIGITS.search(value)


def _scrub_field(name: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and name in _SAFE_FIELDS:
        return value
    if isinstance(value, str) and _safe_scalar(name, value):
        return value
    return REDACTED
