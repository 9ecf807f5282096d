"""Reading FHIR R4 records from the national feeds: validation with ``fhir.resources`` (its
R4B models, which read R4 ``Immunization``, ``Observation`` and ``Bundle`` JSON) and
extraction of what the screening needs. Pure: no I/O, ``now`` passed in.

Every rejection names the field and what is wrong with it, never the NIK's digits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.reference import Reference
from pydantic import ValidationError

from lindung_health.feeds.codes import (
    LOINC,
    NIK_SYSTEM,
    RESULT_CODES,
    TEST_CODES,
    VACCINE_CODES,
)
from lindung_health.people.nik import InvalidNik, RegionCodes, parse_nik
from lindung_health.screening.rules import JAKARTA

#: How far in the future a clock may be before a date counts as "in the future".
CLOCK_SKEW = timedelta(minutes=5)

RecordKind = Literal["vaccination", "test"]


class Rejected(Exception):
    """A record that cannot be accepted; ``reason`` is a machine code."""

    def __init__(self, reason: str, message: str, *, resource_type: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.resource_type = resource_type


@dataclass(frozen=True)
class ParsedRecord:
    source_key: str
    resource_type: str
    kind: RecordKind
    nik: str = field(repr=False)
    fhir_status: str
    retracted: bool
    version_id: str | None
    last_updated: datetime | None
    occurred_at: datetime | None
    resource: dict[str, Any] = field(repr=False)
    vaccine_system: str | None = None
    vaccine_code: str | None = None
    dose_number: int | None = None
    test_type: Literal["pcr", "antigen"] | None = None
    loinc_code: str | None = None
    result: Literal["positive", "negative"] | None = None


def _short(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "(resource)"
        message = " ".join(str(error["msg"]).split())
        parts.append(f"{where}: {message}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def split_entries(resource: Any) -> list[dict[str, Any] | Rejected]:
    """The records in a submission: the entries of a Bundle, or the single resource."""
    if not isinstance(resource, dict):
        return [Rejected("invalid-fhir", "a FHIR resource must be a JSON object")]
    if resource.get("resourceType") != "Bundle":
        return [resource]
    entries = resource.get("entry") or []
    if not isinstance(entries, list):
        return [Rejected("invalid-fhir", "Bundle.entry must be a list")]
    shell = {**resource, "entry": [_without_resource(e) for e in entries]}
    try:
        Bundle.model_validate(shell)
    except ValidationError as exc:
        return [Rejected("invalid-fhir", f"invalid FHIR Bundle: {_short(exc)}")]
    out: list[dict[str, Any] | Rejected] = []
    for index, entry in enumerate(entries):
        inner = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(inner, dict):
            out.append(Rejected("invalid-fhir", f"Bundle.entry[{index}] has no resource"))
        else:
            out.append(inner)
    return out


def _without_resource(entry: Any) -> Any:
    if isinstance(entry, dict):
        return {k: v for k, v in entry.items() if k != "resource"}
    return entry


def parse_record(resource: dict[str, Any], regions: RegionCodes, now: datetime) -> ParsedRecord:
    """Validate one Immunization or Observation and extract it; raises :class:`Rejected`."""
    resource_type = resource.get("resourceType")
    try:
        if resource_type == "Immunization":
            return _immunization(resource, regions, now)
        if resource_type == "Observation":
            return _observation(resource, regions, now)
    except Rejected as rejected:
        rejected.resource_type = str(resource_type)
        raise
    raise Rejected(
        "unsupported-resource",
        f"resourceType {str(resource_type)[:40]!r} is not accepted "
        "(Immunization, Observation or a Bundle of them)",
    )


def _validate(model: type[Immunization] | type[Observation], resource: dict[str, Any]) -> Any:
    try:
        return model.model_validate(resource)
    except ValidationError as exc:
        raise Rejected("invalid-fhir", f"invalid FHIR {model.__name__}: {_short(exc)}") from None


def _source_key(resource_type: str, model: Any) -> str:
    for identifier in model.identifier or []:
        if identifier.system and identifier.value:
            return f"{resource_type}|{identifier.system}|{identifier.value}"
    meta = model.meta
    if model.id and meta is not None and meta.source:
        return f"{resource_type}|{meta.source}|{model.id}"
    raise Rejected(
        "no-source-identifier",
        f"{resource_type} needs an identifier (system and value), or an id with meta.source, "
        "to be stored idempotently",
    )


def _nik(reference: Reference | None, where: str, regions: RegionCodes, now: datetime) -> str:
    identifier = reference.identifier if reference is not None else None
    if identifier is None or identifier.system != NIK_SYSTEM or not identifier.value:
        raise Rejected(
            "no-nik", f"{where} must be identified by a NIK (identifier.system {NIK_SYSTEM})"
        )
    nik = str(identifier.value).strip()
    try:
        parse_nik(nik, regions, today=now.astimezone(JAKARTA).date())
    except InvalidNik as exc:
        raise Rejected("invalid-nik", f"{where}: {exc}") from None
    return nik


def _moment(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=JAKARTA)
    if isinstance(value, date):
        return datetime.combine(value, time(), JAKARTA)
    raise Rejected("missing-date", f"{where} must be a full date or date-time")


def _not_future(moment: datetime, where: str, now: datetime) -> None:
    if moment > now + CLOCK_SKEW:
        raise Rejected("future-date", f"{where} is in the future")


def _version(model: Any) -> tuple[str | None, datetime | None]:
    meta = model.meta
    if meta is None:
        return None, None
    updated = meta.lastUpdated
    if isinstance(updated, datetime) and updated.tzinfo is None:
        updated = updated.replace(tzinfo=JAKARTA)
    return (str(meta.versionId) if meta.versionId else None), (
        updated if isinstance(updated, datetime) else None
    )


def _immunization(resource: dict[str, Any], regions: RegionCodes, now: datetime) -> ParsedRecord:
    model: Immunization = _validate(Immunization, resource)
    key = _source_key("Immunization", model)
    nik = _nik(model.patient, "Immunization.patient", regions, now)
    version_id, last_updated = _version(model)
    retracted = model.status == "entered-in-error"
    system, code = _vaccine(model.vaccineCode, strict=not retracted)
    occurred: datetime | None = None
    if model.occurrenceDateTime is not None or not retracted:
        occurred = _moment(model.occurrenceDateTime, "Immunization.occurrenceDateTime")
        if not retracted:
            _not_future(occurred, "Immunization.occurrenceDateTime", now)
    dose: int | None = None
    for applied in model.protocolApplied or []:
        if applied.doseNumberPositiveInt is not None:
            dose = int(applied.doseNumberPositiveInt)
            break
    return ParsedRecord(
        source_key=key,
        resource_type="Immunization",
        kind="vaccination",
        nik=nik,
        fhir_status=str(model.status),
        retracted=retracted,
        version_id=version_id,
        last_updated=last_updated,
        occurred_at=occurred,
        resource=resource,
        vaccine_system=system,
        vaccine_code=code,
        dose_number=dose,
    )


def _vaccine(concept: CodeableConcept | None, *, strict: bool) -> tuple[str | None, str | None]:
    seen = []
    for coding in (concept.coding if concept else None) or []:
        if coding.system in VACCINE_CODES and coding.code in VACCINE_CODES[coding.system]:
            return coding.system, coding.code
        seen.append(f"{coding.system}|{coding.code}")
    if strict:
        raise Rejected(
            "unknown-vaccine-code",
            "Immunization.vaccineCode has no accepted COVID-19 vaccine code (CVX or SNOMED CT)"
            + (f"; got {', '.join(seen)[:200]}" if seen else ""),
        )
    return None, None


_FINAL_OBSERVATION = {"final", "amended", "corrected"}


def _observation(resource: dict[str, Any], regions: RegionCodes, now: datetime) -> ParsedRecord:
    model: Observation = _validate(Observation, resource)
    key = _source_key("Observation", model)
    nik = _nik(model.subject, "Observation.subject", regions, now)
    version_id, last_updated = _version(model)
    status = str(model.status)
    retracted = status == "entered-in-error"
    if not retracted and status not in _FINAL_OBSERVATION:
        raise Rejected(
            "not-final",
            f"Observation.status {status!r} is not a final result (final, amended, corrected, "
            "or entered-in-error to retract)",
        )
    loinc, test_type = _test_code(model.code, strict=not retracted)
    result = _result(model, strict=not retracted)
    raw_effective = (
        model.effectiveDateTime
        or model.effectiveInstant
        or (model.effectivePeriod.start if model.effectivePeriod else None)
    )
    sampled: datetime | None = None
    if raw_effective is not None or not retracted:
        sampled = _moment(raw_effective, "Observation.effectiveDateTime (sample time)")
        if not retracted:
            _not_future(sampled, "Observation.effectiveDateTime (sample time)", now)
    return ParsedRecord(
        source_key=key,
        resource_type="Observation",
        kind="test",
        nik=nik,
        fhir_status=status,
        retracted=retracted,
        version_id=version_id,
        last_updated=last_updated,
        occurred_at=sampled,
        resource=resource,
        test_type=test_type,
        loinc_code=loinc,
        result=result,
    )


def _test_code(
    concept: CodeableConcept | None, *, strict: bool
) -> tuple[str | None, Literal["pcr", "antigen"] | None]:
    seen = []
    for coding in (concept.coding if concept else None) or []:
        if coding.system == LOINC and coding.code in TEST_CODES:
            return str(coding.code), TEST_CODES[str(coding.code)]
        seen.append(f"{coding.system}|{coding.code}")
    if strict:
        raise Rejected(
            "unknown-loinc-code",
            "Observation.code has no accepted SARS-CoV-2 LOINC code "
            f"({', '.join(sorted(TEST_CODES))})"
            + (f"; got {', '.join(seen)[:200]}" if seen else ""),
        )
    return None, None


def _result(model: Observation, *, strict: bool) -> Literal["positive", "negative"] | None:
    concepts = [model.valueCodeableConcept] if model.valueCodeableConcept else []
    concepts += list(model.interpretation or [])
    for concept in concepts:
        for coding in concept.coding or []:
            found = RESULT_CODES.get((str(coding.system), str(coding.code)))
            if found:
                return found
    if strict:
        raise Rejected(
            "no-result",
            "Observation has no positive/negative result (valueCodeableConcept in SNOMED CT "
            "or interpretation POS/NEG)",
        )
    return None
