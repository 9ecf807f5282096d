"""Builders for tests and local demos: valid NIKs and FHIR records as the feeds send them."""

from __future__ import annotations

import functools
import itertools
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from lindung_shared.sealing import Sealer

from lindung_health.certificates.trust import Csca, generate_development_csca
from lindung_health.feeds.codes import (
    CVX,
    INTERPRETATION,
    LOINC,
    NIK_SYSTEM,
    SNOMED,
    VERIFICATION,
)
from lindung_health.people.nik import Sex, nik_for
from lindung_health.settings import Settings

_counter = itertools.count(1)
VACCINATION_ID_SYSTEM = "https://sehatindonesiaku.kemkes.go.id/vaccination"


def new_nik(
    birth_date: date | None = None, sex: Sex = "F", regency_code: str = "3171"
) -> tuple[str, date]:
    """A structurally valid NIK that no other call in this process returns."""
    n = next(_counter) + random.randrange(0, 10**6) * 10_000
    born = birth_date or date.fromordinal(date(1960, 1, 1).toordinal() + n % 15_000)
    district = f"{1 + (n // 9999) % 98:02d}"
    return nik_for(regency_code, district, born, sex, 1 + n % 9999), born


async def enrol_resident(settings: Settings, nik: str, full_name: str, born: date) -> None:
    """Make a fictitious person a resident of the development civil registry
    (deploy/local/devsystems), so that registering them passes the identity check."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            settings.civil_registry_url.rstrip("/") + "/v1/dev/residents",
            headers={"Authorization": f"Bearer {settings.civil_registry_token.get_secret_value()}"},
            json={
                "nik": nik,
                "full_name": full_name,
                "birth_date": born.isoformat(),
                "sex": "F" if int(nik[6:8]) > 40 else "M",
                "birth_place": "",
                "regency_code": nik[:4],
            },
        )
    if response.status_code not in (200, 201):
        raise AssertionError(f"the dev civil registry answered {response.status_code}")


def immunization(
    nik: str,
    *,
    ident: str,
    when: datetime | str,
    code: str = "511",
    system: str = CVX,
    dose: int | None = None,
    status: str = "completed",
    version: str | None = None,
    last_updated: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "identifier": [{"system": VACCINATION_ID_SYSTEM, "value": ident}],
        "status": status,
        "vaccineCode": {"coding": [{"system": system, "code": code}]},
        "patient": {"identifier": {"system": NIK_SYSTEM, "value": nik}},
        "occurrenceDateTime": when if isinstance(when, str) else when.isoformat(),
    }
    if dose is not None:
        resource["protocolApplied"] = [{"doseNumberPositiveInt": dose}]
    _meta(resource, version, last_updated)
    return resource


def observation(
    nik: str,
    *,
    ident: str,
    when: datetime | str,
    result: str = "positive",
    loinc: str = "94500-6",
    status: str = "final",
    version: str | None = None,
    last_updated: str | None = None,
    via_interpretation: bool = False,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": "https://lab.example.id/result", "value": ident}],
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"identifier": {"system": NIK_SYSTEM, "value": nik}},
        "effectiveDateTime": when if isinstance(when, str) else when.isoformat(),
    }
    if via_interpretation:
        code = {"positive": "POS", "negative": "NEG"}.get(result, result)
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": code}]}]
    else:
        code = {"positive": "10828004", "negative": "260385009"}.get(result, result)
        resource["valueCodeableConcept"] = {"coding": [{"system": SNOMED, "code": code}]}
    _meta(resource, version, last_updated)
    return resource


CONDITION_ID_SYSTEM = "https://surveillance.example.id/condition"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def condition(
    nik: str,
    *,
    ident: str,
    when: datetime | str,
    verification: str = "provisional",
    code: str = "840539006",
    system: str = SNOMED,
    version: str | None = None,
    last_updated: str | None = None,
) -> dict[str, Any]:
    """A COVID-19 Condition as a surveillance system sends it: a suspected case (PDP) while
    ``verification`` is provisional, then confirmed / refuted / entered-in-error."""
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "identifier": [{"system": CONDITION_ID_SYSTEM, "value": ident}],
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": verification}]},
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"identifier": {"system": NIK_SYSTEM, "value": nik}},
        "onsetDateTime": when if isinstance(when, str) else when.isoformat(),
    }
    if verification != "entered-in-error":
        clinical = "resolved" if verification == "refuted" else "active"
        resource["clinicalStatus"] = {"coding": [{"system": CLINICAL_STATUS, "code": clinical}]}
    _meta(resource, version, last_updated)
    return resource


def _meta(resource: dict[str, Any], version: str | None, last_updated: str | None) -> None:
    meta = {}
    if version is not None:
        meta["versionId"] = version
    if last_updated is not None:
        meta["lastUpdated"] = last_updated
    if meta:
        resource["meta"] = meta


def bundle(*resources: dict[str, Any], bundle_type: str = "batch") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": bundle_type,
        "entry": [{"resource": r} for r in resources],
    }


@functools.cache
def dev_csca(country: str) -> Csca:
    """A development country signing CA for ``country``, one per process (tests load it as
    the service's configured CSCA and issue foreign document signers under it)."""
    now = datetime.now(UTC)
    return generate_development_csca(country, now - timedelta(days=2), timedelta(days=400))


def open_sealed(payload: dict[str, Any]) -> dict[str, Any]:
    """A staged event's payload with its sealed fields opened (as the notifier does): the
    phone as ``phone_e164`` / ``old_phone_e164`` and the code as ``code``."""
    sealer = Sealer(Settings().contact_seal_key.get_secret_value())
    opened = dict(payload)
    for sealed, label, name in (
        ("phone_sealed", "phone", "phone_e164"),
        ("old_phone_sealed", "phone", "old_phone_e164"),
        ("code_sealed", "code", "code"),
    ):
        if sealed in opened:
            opened[name] = sealer.unseal(opened[sealed], label)
    return opened
