"""Client of the development external systems (deploy/local/devsystems) for the story and
the tests: enrol fictitious residents in the civil registry, read the SMS a phone received.

Addresses and credentials come from the same variables the services read
(``LINDUNG_DEVSYSTEMS_URL`` is written to ``.stack/env`` by ``deploy/local/stack.sh``)."""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

CODE = re.compile(r"\b(\d{6})\b")


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class DevSystems:
    url: str = field(
        default_factory=lambda: _env("LINDUNG_DEVSYSTEMS_URL", "http://127.0.0.1:18081")
    )
    registry_token: str = field(
        default_factory=lambda: _env(
            "LINDUNG_CIVIL_REGISTRY_TOKEN", "dev-only-civil-registry-token"
        )
    )
    sms_token: str = field(default_factory=lambda: _env("NOTIFIER_SMS_TOKEN", "dev-only-sms-token"))

    async def enrol(
        self,
        http: httpx.AsyncClient,
        *,
        nik: str,
        full_name: str,
        birth_date: date,
        sex: str,
        regency_code: str,
        birth_place: str = "Jakarta",
    ) -> None:
        """Add a fictitious resident to the development civil registry (idempotent)."""
        response = await http.post(
            f"{self.url}/civil-registry/v1/dev/residents",
            headers={"Authorization": f"Bearer {self.registry_token}"},
            json={
                "nik": nik,
                "full_name": full_name,
                "birth_date": birth_date.isoformat(),
                "sex": sex,
                "birth_place": birth_place,
                "regency_code": regency_code,
            },
        )
        if response.status_code not in (200, 201):
            raise AssertionError(f"enrolling a resident answered {response.status_code}")

    async def sms_to(self, http: httpx.AsyncClient, phone: str) -> list[dict[str, Any]]:
        response = await http.get(
            f"{self.url}/v1/sms/messages",
            params={"to": phone},
            headers={"Authorization": f"Bearer {self.sms_token}"},
        )
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def next_code(
        self, http: httpx.AsyncClient, phone: str, seen: set[str], timeout: float = 60
    ) -> str:
        """The code of the newest SMS to ``phone`` not in ``seen`` (message ids), waiting for
        it to arrive (the code travels health-records -> Kafka -> notifier -> SMS gateway)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in await self.sms_to(http, phone):
                if message["id"] in seen:
                    continue
                found = CODE.search(message["text"])
                if found:
                    seen.add(message["id"])
                    return found.group(1)
            await asyncio.sleep(0.2)
        raise AssertionError("no sign-in code reached the SMS gateway in time")
