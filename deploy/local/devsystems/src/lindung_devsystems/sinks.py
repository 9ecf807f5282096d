"""Gateway sinks: they accept messages like the real SMS and push gateways do (bearer
credential, idempotency reference) and keep the recent ones so a developer or a test can
read what was sent (e.g. the sign-in code that went to a phone)."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Recorded:
    id: str
    to: str
    received_at: datetime
    body: dict[str, Any] = field(default_factory=dict)


class Sink:
    def __init__(self, max_messages: int) -> None:
        self.max_messages = max_messages
        self._by_reference: OrderedDict[str, Recorded] = OrderedDict()

    def record(self, reference: str | None, to: str, body: dict[str, Any]) -> tuple[Recorded, bool]:
        """Record a message once per reference; a repeat returns the first one (False)."""
        key = reference or uuid.uuid4().hex
        found = self._by_reference.get(key)
        if found is not None:
            return found, False
        recorded = Recorded(id=uuid.uuid4().hex, to=to, received_at=datetime.now(UTC), body=body)
        self._by_reference[key] = recorded
        while len(self._by_reference) > self.max_messages:
            self._by_reference.popitem(last=False)
        return recorded, True

    def newest_first(self, to: str | None, limit: int) -> list[Recorded]:
        found: list[Recorded] = []
        for recorded in reversed(self._by_reference.values()):
            if to is None or recorded.to == to:
                found.append(recorded)
                if len(found) >= limit:
                    break
        return found
