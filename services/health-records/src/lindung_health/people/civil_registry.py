"""Adapter to the civil registry (Indonesia: Dukcapil's identity verification for
institutions): does this NIK belong to a resident with this full name and birth date?

The endpoint and its bearer credential are settings (``LINDUNG_CIVIL_REGISTRY_URL``,
``LINDUNG_CIVIL_REGISTRY_TOKEN``); development and tests use the registry of
``deploy/local/devsystems``, production the real service. The answer is the registry's record
(the name, birth date and sex we keep come from it, never from the request), ``None`` when the
identity does not match (which field failed is not kept, nor told), or
:class:`RegistryUnavailable` when no answer could be had.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import httpx
from lindung_shared.errors import ServiceUnavailable
from pydantic import BaseModel, ValidationError

from lindung_health.settings import Settings

log = logging.getLogger(__name__)


class RegistryUnavailable(ServiceUnavailable):
    code, title = "civil-registry-unavailable", "Civil registry unavailable"


@dataclass(frozen=True)
class RegistryRecord:
    nik: str
    full_name: str
    birth_date: date
    sex: str
    regency_code: str


class _Resident(BaseModel):
    nik: str
    full_name: str
    birth_date: date
    sex: str
    regency_code: str


class _Answer(BaseModel):
    result: str
    resident: _Resident | None = None


class CivilRegistry:
    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.url = settings.civil_registry_url.rstrip("/") + "/v1/verify"
        self.token = settings.civil_registry_token
        self.timeout = settings.civil_registry_timeout_seconds
        self.retry_after = settings.civil_registry_retry_after_seconds
        self.client = client or httpx.AsyncClient()

    async def aclose(self) -> None:
        await self.client.aclose()

    def _unavailable(self, why: str) -> RegistryUnavailable:
        log.warning("civil registry unavailable: %s", why)
        return RegistryUnavailable(
            "the civil registry cannot be reached; nothing was registered, try again later",
            retry_after=self.retry_after,
        )

    async def verify(self, nik: str, full_name: str, birth_date: date) -> RegistryRecord | None:
        try:
            response = await self.client.post(
                self.url,
                json={"nik": nik, "full_name": full_name, "birth_date": birth_date.isoformat()},
                headers={"Authorization": f"Bearer {self.token.get_secret_value()}"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise self._unavailable(type(exc).__name__) from None
        if response.status_code != 200:
            # 401/403 are our misconfiguration, 5xx theirs: either way, not the caller's fault.
            raise self._unavailable(f"answered {response.status_code}")
        try:
            answer = _Answer.model_validate_json(response.content)
        except ValidationError:
            raise self._unavailable("an answer we cannot read") from None
        if answer.result != "match" or answer.resident is None or answer.resident.nik != nik:
            return None
        r = answer.resident
        return RegistryRecord(
            nik=r.nik,
            full_name=r.full_name,
            birth_date=r.birth_date,
            sex=r.sex,
            regency_code=r.regency_code,
        )
