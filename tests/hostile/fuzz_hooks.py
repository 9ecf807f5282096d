"""Schemathesis hooks for the fuzzing run (loaded through SCHEMATHESIS_HOOKS): each generated
request carries the token of the next role in turn (every role, and none), so every route
is fuzzed past its authorisation as well as in front of it."""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import schemathesis

_TOKENS: dict[str, str | None] = {
    **json.loads(os.environ.get("LINDUNG_FUZZ_TOKENS", "{}")),
    "anonymous": None,
}
_ROLES = itertools.cycle(sorted(_TOKENS))


@schemathesis.auth(refresh_interval=None)
class RoleInTurn:
    """Each request gets the next role's token (no caching: ``refresh_interval=None``)."""

    def get(self, case: Any, context: Any) -> str | None:
        return _TOKENS[next(_ROLES)]

    def set(self, case: Any, data: str | None, context: Any) -> None:
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        if data is not None:
            headers["Authorization"] = f"Bearer {data}"
        case.headers = headers


@schemathesis.serializer("application/fhir+ndjson", "application/x-ndjson")
def ndjson(context: Any, value: Any) -> bytes:
    """Bulk import parts (``POST /v1/feeds/import-parts``) are NDJSON text: a generated string
    goes as it is, anything else as one JSON line."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return value
    return json.dumps(value).encode() + b"\n"
