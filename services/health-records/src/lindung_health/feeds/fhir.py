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
from pydantic import ValidationError

from lindung_health.feeds.codes import (
    CONDITION_CODES,
    LOINC,
    NIK_SYSTEM,
    RESULT_CODES,
    TEST_CODES,
    VACCINE_CODES,
    VERIFICATION,
    VERIFICATION_CODES,
)
from lindung_health.feeds.lean import MODELS
from lindung_health.people.nik import InvalidNik, RegionCodes, parse_nik
from lindung_health.screening.rules import JAKARTA

#: How far in the future a clock may be before a date counts as "in the future".
CLOCK_SKEW = timedelta(minutes=5)

RecordKind = Literal["vaccination", "test", "condition"]


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


#: Resources a feed may carry alongside its records (a document's Composition, the Patient its
#: records point at, who performed or ordered them...): accepted and not stored.
IGNORED_TYPES = frozenset(
    {
        "Patient",
        "Composition",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Location",
        "Encounter",
        "Specimen",
        "Device",
        "Provenance",
        "Medication",
        "DocumentReference",
        "Endpoint",
        "RelatedPerson",
        "HealthcareService",
        "ImmunizationRecommendation",
        "ServiceRequest",
    }
)
#: Bundle types applied all or nothing; every other type answers entry by entry.
ATOMIC_BUNDLE_TYPES = frozenset({"transaction"})


@dataclass(frozen=True)
class Ignored:
    """An entry accepted and not stored (see :data:`IGNORED_TYPES`)."""

    resource_type: str
    message: str


@dataclass
class Submission:
    """What a feed sent: its entries (a resource, or why the entry is unreadable), the Bundle
    type, and the entries' addresses for resolving references inside the Bundle."""

    entries: list[dict[str, Any] | Rejected]
    bundle_type: str | None = None
    by_reference: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Observation entry index -> the DiagnosticReport whose ``result`` lists it.
    reports_of: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: DiagnosticReport entry index -> the entry indexes of its result Observations.
    results_of: dict[int, list[int]] = field(default_factory=dict)

    @property
    def atomic(self) -> bool:
        return self.bundle_type in ATOMIC_BUNDLE_TYPES

    def resolve(self, reference: Any) -> dict[str, Any] | None:
        if reference is None or not reference.reference:
            return None
        return self.by_reference.get(str(reference.reference))


def split_entries(resource: Any) -> list[dict[str, Any] | Rejected]:
    """The records in a submission: the entries of a Bundle, or the single resource."""
    return split(resource).entries


def split(resource: Any) -> Submission:
    """Read a submission: one resource or a Bundle, with its references indexed."""
    if not isinstance(resource, dict):
        return Submission([Rejected("invalid-fhir", "a FHIR resource must be a JSON object")])
    if resource.get("resourceType") != "Bundle":
        return Submission([resource])
    entries = resource.get("entry") or []
    if not isinstance(entries, list):
        return Submission([Rejected("invalid-fhir", "Bundle.entry must be a list")])
    # The Bundle's own fields, and those entries that carry more than a resource and a
    # fullUrl (request, response, search...), are validated by the model; an entry of just
    # those two is checked here (validating thousands of them by the model costs as much as
    # the records themselves).
    shell = {
        **resource,
        "entry": [
            _without_resource(e)
            for e in entries
            if not (isinstance(e, dict) and set(e) <= {"resource", "fullUrl"})
        ],
    }
    for index, entry in enumerate(entries):
        url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if url is not None and not (isinstance(url, str) and url and not url.isspace()):
            return Submission(
                [Rejected("invalid-fhir", f"Bundle.entry[{index}].fullUrl must be a URI")]
            )
    try:
        Bundle.model_validate(shell)
    except ValidationError as exc:
        return Submission([Rejected("invalid-fhir", f"invalid FHIR Bundle: {_short(exc)}")])
    submission = Submission([], bundle_type=str(resource.get("type")))
    for index, entry in enumerate(entries):
        inner = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(inner, dict):
            submission.entries.append(
                Rejected("invalid-fhir", f"Bundle.entry[{index}] has no resource")
            )
            continue
        submission.entries.append(inner)
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and full_url:
            submission.by_reference[full_url] = inner
        rtype, rid = inner.get("resourceType"), inner.get("id")
        if isinstance(rtype, str) and isinstance(rid, str) and rid:
            submission.by_reference.setdefault(f"{rtype}/{rid}", inner)
            if isinstance(full_url, str) and full_url.endswith(f"/{rtype}/{rid}"):
                submission.by_reference.setdefault(f"{rtype}/{rid}", inner)
    _link_reports(submission)
    return submission


def _link_reports(submission: Submission) -> None:
    index_of = {id(r): i for i, r in enumerate(submission.entries) if isinstance(r, dict)}
    for index, item in enumerate(submission.entries):
        if not isinstance(item, dict) or item.get("resourceType") != "DiagnosticReport":
            continue
        results = item.get("result")
        for ref in results if isinstance(results, list) else []:
            target = (
                submission.by_reference.get(ref.get("reference", ""))
                if isinstance(ref, dict) and isinstance(ref.get("reference"), str)
                else None
            )
            if target is None or target.get("resourceType") != "Observation":
                continue
            at = index_of[id(target)]
            if at in submission.reports_of:
                continue
            submission.reports_of[at] = item
            submission.results_of.setdefault(index, []).append(at)


def _without_resource(entry: Any) -> Any:
    if isinstance(entry, dict):
        return {k: v for k, v in entry.items() if k != "resource"}
    return entry


def parse_record(
    resource: dict[str, Any],
    regions: RegionCodes,
    now: datetime,
    submission: Submission | None = None,
    index: int = 0,
    *,
    full: bool = False,
) -> ParsedRecord | Ignored:
    """Validate one entry and extract its record; raises :class:`Rejected`. Entries of the
    types in :data:`IGNORED_TYPES`, and DiagnosticReports whose result Observations are in
    the Bundle (those are the records), come back :class:`Ignored`.

    The entry is validated by the lean models of :mod:`.lean` (what Lindung reads), or with
    ``full`` by ``fhir.resources`` (every element; the reference the lean models are tested
    against)."""
    submission = submission or Submission([resource])
    resource_type = resource.get("resourceType")
    try:
        if resource_type == "Immunization":
            return _immunization(resource, regions, now, submission, full)
        if resource_type == "Observation":
            report = submission.reports_of.get(index)
            if report is not None:
                resource = _with_report_defaults(resource, report)
            return _observation(resource, regions, now, submission, full)
        if resource_type == "DiagnosticReport":
            results = submission.results_of.get(index)
            if results:
                return Ignored(
                    "DiagnosticReport",
                    f"its result Observation(s) (entries {', '.join(map(str, results))}) are the "
                    "records",
                )
            return _report(resource, regions, now, submission, full)
        if resource_type == "Condition":
            return _condition(resource, regions, now, submission, full)
        if resource_type == "Patient":
            _validate("Patient", resource, full)
            return Ignored("Patient", "a Patient is read for the NIK of the records that cite it")
        if isinstance(resource_type, str) and resource_type in IGNORED_TYPES:
            return Ignored(resource_type, f"{resource_type} is accepted and not stored")
    except Rejected as rejected:
        rejected.resource_type = str(resource_type)
        raise
    raise Rejected(
        "unsupported-resource",
        f"resourceType {str(resource_type)[:40]!r} is not accepted (Immunization, Observation, "
        "DiagnosticReport, Condition, or a Bundle of them with the Patient and other resources "
        "they cite)",
    )


def _with_report_defaults(resource: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """A result Observation takes its subject and sample time from its report if it has none."""
    merged = dict(resource)
    if "subject" not in merged and "subject" in report:
        merged["subject"] = report["subject"]
    effective = [k for k in report if k.startswith("effective")]
    if not any(k.startswith("effective") for k in merged) and effective:
        merged[effective[0]] = report[effective[0]]
    return merged


def _validate(resource_type: str, resource: dict[str, Any], full: bool) -> Any:
    lean, complete = MODELS[resource_type]
    model = complete if full else lean
    try:
        return model.model_validate(resource)
    except ValidationError as exc:
        raise Rejected("invalid-fhir", f"invalid FHIR {model.__name__}: {_short(exc)}") from None
    except (AttributeError, TypeError) as exc:
        # fhir.resources' own validators can trip over a wrong type (``"_status": "x"``).
        raise Rejected("invalid-fhir", f"invalid FHIR {model.__name__}: {exc}") from None


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


def _nik(
    reference: Any,
    where: str,
    regions: RegionCodes,
    now: datetime,
    submission: Submission,
) -> str:
    """The NIK of a record's patient: the reference's own identifier, else the identifier of
    the Patient it points at inside the Bundle (``urn:uuid:...`` or ``Patient/id``)."""
    identifier = reference.identifier if reference is not None else None
    value: str | None = None
    if identifier is not None and identifier.system == NIK_SYSTEM and identifier.value:
        value = str(identifier.value)
    else:
        patient = submission.resolve(reference)
        if patient is not None and patient.get("resourceType") == "Patient":
            for ident in patient.get("identifier") or []:
                if (
                    isinstance(ident, dict)
                    and ident.get("system") == NIK_SYSTEM
                    and isinstance(ident.get("value"), str)
                    and ident["value"]
                ):
                    value = ident["value"]
                    break
            if value is None:
                raise Rejected(
                    "no-nik",
                    f"{where} points at a Patient in the Bundle without a NIK "
                    f"(identifier.system {NIK_SYSTEM})",
                )
    if value is None:
        raise Rejected(
            "no-nik",
            f"{where} must be identified by a NIK (identifier.system {NIK_SYSTEM}), directly "
            "or through a Patient entry of the Bundle it references",
        )
    nik = value.strip()
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


def _immunization(
    resource: dict[str, Any],
    regions: RegionCodes,
    now: datetime,
    submission: Submission,
    full: bool,
) -> ParsedRecord:
    model = _validate("Immunization", resource, full)
    key = _source_key("Immunization", model)
    nik = _nik(model.patient, "Immunization.patient", regions, now, submission)
    version_id, last_updated = _version(model)
    retracted = model.status == "entered-in-error"
    # Strict for retractions too: entered-in-error counts only for a record Lindung keeps.
    system, code = _vaccine(model.vaccineCode)
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


def _vaccine(concept: Any) -> tuple[str, str]:
    seen = []
    for coding in (concept.coding if concept else None) or []:
        if coding.system in VACCINE_CODES and coding.code in VACCINE_CODES[coding.system]:
            return str(coding.system), str(coding.code)
        seen.append(f"{coding.system}|{coding.code}")
    raise Rejected(
        "unknown-vaccine-code",
        "Immunization.vaccineCode has no accepted COVID-19 vaccine code (CVX, SNOMED CT or "
        "ICD-11)" + (f"; got {', '.join(seen)[:200]}" if seen else ""),
    )


_FINAL_OBSERVATION = {"final", "amended", "corrected"}


def _observation(
    resource: dict[str, Any],
    regions: RegionCodes,
    now: datetime,
    submission: Submission,
    full: bool,
) -> ParsedRecord:
    model = _validate("Observation", resource, full)
    key = _source_key("Observation", model)
    nik = _nik(model.subject, "Observation.subject", regions, now, submission)
    version_id, last_updated = _version(model)
    status = str(model.status)
    retracted = status == "entered-in-error"
    if not retracted and status not in _FINAL_OBSERVATION:
        raise Rejected(
            "not-final",
            f"Observation.status {status!r} is not a final result (final, amended, corrected, "
            "or entered-in-error to retract)",
        )
    # Strict for retractions too: a body temperature entered in error retracts no test.
    loinc, test_type = _test_code(model.code, "Observation.code")
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


def _test_code(concept: Any, where: str) -> tuple[str, Literal["pcr", "antigen"]]:
    seen = []
    for coding in (concept.coding if concept else None) or []:
        if coding.system == LOINC and coding.code in TEST_CODES:
            return str(coding.code), TEST_CODES[str(coding.code)]
        seen.append(f"{coding.system}|{coding.code}")
    raise Rejected(
        "unknown-loinc-code",
        f"{where} has no accepted SARS-CoV-2 LOINC code ({', '.join(sorted(TEST_CODES))})"
        + (f"; got {', '.join(seen)[:200]}" if seen else ""),
    )


def _result(model: Any, *, strict: bool) -> Literal["positive", "negative"] | None:
    if model.__class__.__name__ == "DiagnosticReport":
        concepts = list(model.conclusionCode or [])
    else:
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


def _report(
    resource: dict[str, Any],
    regions: RegionCodes,
    now: datetime,
    submission: Submission,
    full: bool,
) -> ParsedRecord:
    """A DiagnosticReport without result Observations in the Bundle: the report is the test
    record (its code, subject, effective time and ``conclusionCode``)."""
    model = _validate("DiagnosticReport", resource, full)
    key = _source_key("DiagnosticReport", model)
    nik = _nik(model.subject, "DiagnosticReport.subject", regions, now, submission)
    version_id, last_updated = _version(model)
    status = str(model.status)
    retracted = status == "entered-in-error"
    if not retracted and status not in _FINAL_OBSERVATION:
        raise Rejected(
            "not-final",
            f"DiagnosticReport.status {status!r} is not a final result (final, amended, "
            "corrected, or entered-in-error to retract)",
        )
    loinc, test_type = _test_code(model.code, "DiagnosticReport.code")
    result = _result(model, strict=False)
    if result is None and not retracted:
        raise Rejected(
            "no-result",
            "DiagnosticReport has no positive/negative conclusionCode (SNOMED CT) and no result "
            "Observation in the Bundle",
        )
    raw_effective = model.effectiveDateTime or (
        model.effectivePeriod.start if model.effectivePeriod else None
    )
    sampled: datetime | None = None
    if raw_effective is not None or not retracted:
        sampled = _moment(raw_effective, "DiagnosticReport.effectiveDateTime (sample time)")
        if not retracted:
            _not_future(sampled, "DiagnosticReport.effectiveDateTime (sample time)", now)
    return ParsedRecord(
        source_key=key,
        resource_type="DiagnosticReport",
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


def _condition(
    resource: dict[str, Any],
    regions: RegionCodes,
    now: datetime,
    submission: Submission,
    full: bool,
) -> ParsedRecord:
    """A COVID-19 Condition: a suspected case (PDP) while its verification status is
    unconfirmed, provisional or differential; a confirmed case once ``confirmed``; ruled out
    when ``refuted``; retracted when ``entered-in-error`` (docs/suspects.md). Its moment is the
    onset, else the recorded date. ``fhir_status`` holds the verification status (a Condition
    has no ``status``)."""
    model = _validate("Condition", resource, full)
    key = _source_key("Condition", model)
    nik = _nik(model.subject, "Condition.subject", regions, now, submission)
    version_id, last_updated = _version(model)
    verification = _verification(model.verificationStatus)
    retracted = verification == "entered-in-error"
    # Strict for retractions too: entered-in-error counts only for a record Lindung keeps.
    _condition_code(model.code)
    raw_moment = (
        model.onsetDateTime
        or (model.onsetPeriod.start if model.onsetPeriod else None)
        or model.recordedDate
    )
    moment: datetime | None = None
    if raw_moment is not None or not retracted:
        moment = _moment(raw_moment, "Condition.onsetDateTime (or recordedDate)")
        if not retracted:
            _not_future(moment, "Condition.onsetDateTime (or recordedDate)", now)
    return ParsedRecord(
        source_key=key,
        resource_type="Condition",
        kind="condition",
        nik=nik,
        fhir_status=verification,
        retracted=retracted,
        version_id=version_id,
        last_updated=last_updated,
        occurred_at=moment,
        resource=resource,
    )


def _verification(concept: Any) -> str:
    seen = []
    for coding in (concept.coding if concept else None) or []:
        if coding.system == VERIFICATION and coding.code in VERIFICATION_CODES:
            return str(coding.code)
        seen.append(f"{coding.system}|{coding.code}")
    raise Rejected(
        "no-verification-status",
        f"Condition.verificationStatus must say whether the case is suspected (provisional, "
        f"differential, unconfirmed), confirmed, refuted or entered-in-error ({VERIFICATION})"
        + (f"; got {', '.join(seen)[:200]}" if seen else ""),
    )


def _condition_code(concept: Any) -> None:
    seen = []
    for coding in (concept.coding if concept else None) or []:
        if coding.code in CONDITION_CODES.get(str(coding.system), ()):
            return
        seen.append(f"{coding.system}|{coding.code}")
    raise Rejected(
        "unknown-condition-code",
        "Condition.code is not COVID-19 (SNOMED CT 840539006 or 840544004, ICD-10 U07.1 or "
        "U07.2, ICD-11 RA01.0 or RA01.1)" + (f"; got {', '.join(seen)[:200]}" if seen else ""),
    )
