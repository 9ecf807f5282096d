"""Lean validation of the feed records: pydantic v2 models of only what Lindung reads.

``fhir.resources`` validates every element of a resource down to the last extension: about
150 microseconds of CPU per Immunization, which alone caps one worker near 6,000 records/s
before anything is stored. The models here check, for Immunization, Observation,
DiagnosticReport and Patient:

(and Condition, a suspected case: docs/suspects.md)

- the element names at the top level and inside every element Lindung reads (Identifier,
  Reference, CodeableConcept, Coding, Meta, Period, protocolApplied): an unknown name is
  ``invalid-fhir`` as with ``fhir.resources`` (names taken from its models, so the lists are
  the FHIR R4 ones, primitive extensions ``_x`` included);
- required elements and choice elements (``occurrence[x]``: exactly one; ``value[x]``: at
  most one), from the same models;
- every primitive of those (code, uri, id, string, dateTime, instant, positiveInt, boolean...),
  by the very annotations of the ``fhir.resources`` models (their FHIR regular expressions
  and parsing).

Complex elements Lindung does not read (performer, reaction, note, component, valueQuantity...)
are not validated inside: they are de-identified away or kept as they came (see
:mod:`.deidentify`). That is the whole difference from ``fhir.resources``.
``tests/feeds/test_lean_validation.py`` holds the two validations to the same verdicts on the
fixtures and on random mutations of them.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.codeableconcept import CodeableConcept as FullCodeableConcept
from fhir.resources.R4B.coding import Coding as FullCoding
from fhir.resources.R4B.condition import Condition as FullCondition
from fhir.resources.R4B.diagnosticreport import DiagnosticReport as FullDiagnosticReport
from fhir.resources.R4B.identifier import Identifier as FullIdentifier
from fhir.resources.R4B.immunization import Immunization as FullImmunization
from fhir.resources.R4B.immunization import (
    ImmunizationProtocolApplied as FullProtocolApplied,
)
from fhir.resources.R4B.meta import Meta as FullMeta
from fhir.resources.R4B.observation import Observation as FullObservation
from fhir.resources.R4B.patient import Patient as FullPatient
from fhir.resources.R4B.period import Period as FullPeriod
from fhir.resources.R4B.reference import Reference as FullReference
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

#: A primitive Lindung reads: validated by the ``fhir.resources`` model's own annotation (its
#: FHIR regular expression and parsing), so the verdicts are the same.
PRIMITIVE: Any = object()


class PrimitiveExtension(BaseModel):
    """The ``_x`` object beside a primitive ``x``: its id and extensions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str | None = None
    extension: list[Any] | None = None
    fhir_comments: Any = None

    @model_validator(mode="after")
    def _something(self) -> PrimitiveExtension:
        if self.id is None and self.extension is None:
            raise ValueError("One of field value is required.")
        return self


def _lean(name: str, full: Any, typed: dict[str, Any], *, resource_type: str | None = None) -> Any:
    """A model with every element name of ``full`` (the ``fhir.resources`` model), unknown
    names forbidden, required and choice elements checked, and only ``typed`` validated."""
    fields: dict[str, Any] = {}
    # Required complex elements must be there (``fhir.resources`` takes a JSON null for one);
    # required primitives must have a value or an extension.
    present: list[str] = []
    required: list[tuple[str, ...]] = []
    for field_name, info in full.model_fields.items():
        alias = info.alias or field_name
        if field_name == "resource_type":
            continue
        if alias.startswith("_") and alias[1:] in full.model_fields:
            # A primitive's extension (``_status``...): an object (a list of them for a list).
            repeats = "List" in str(full.model_fields[alias[1:]].annotation)
            kind = list[PrimitiveExtension | None] if repeats else PrimitiveExtension
            fields[field_name] = (kind | None, Field(None, alias=alias))
        elif alias in typed:
            kind = info.annotation if typed[alias] is PRIMITIVE else typed[alias] | None
            fields[field_name] = (kind, Field(None, alias=alias))
        elif "abc." not in str(info.annotation):
            # Every primitive is checked (cheap, and only when present): issued, valueString...
            fields[field_name] = (info.annotation, Field(None, alias=alias))
        else:
            # A complex element Lindung does not read (performer, note, component...).
            fields[field_name] = (Any, Field(None, alias=alias))
        if info.is_required():
            present.append(alias)
    blank = full.model_construct()
    for primitive, extension in full.get_required_fields(blank):
        required.append((primitive, "_" + primitive) if extension else (primitive,))
    choices: list[tuple[list[str], bool]] = []
    for group in full.get_one_of_many_fields(blank).values():
        extra = full.model_fields[group[0]].json_schema_extra or {}
        choices.append((list(group), extra.get("one_of_many_required") is True))
    if resource_type is not None:
        fields["resource_type"] = (str, Field(alias="resourceType", pattern=f"^{resource_type}$"))

    def check(cls: Any, data: Any) -> Any:
        if isinstance(data, dict):
            for element in present:
                if element not in data:
                    raise ValueError(f"field required: {element}")
            for names in required:
                if all(data.get(n) is None for n in names):
                    raise ValueError(f"field required: {names[0]}")
            for group, needed in choices:
                given = [n for n in group if data.get(n) is not None]
                if len(given) > 1:
                    raise ValueError(f"only one of {group} is allowed, got {given}")
                if needed and not given:
                    raise ValueError(f"one of {group} is required")
        return data

    validators: dict[str, Any] = (
        {"structure": model_validator(mode="before")(check)}
        if present or required or choices
        else {}
    )
    return create_model(  # type: ignore[call-overload]
        name,
        __config__=ConfigDict(extra="forbid", populate_by_name=True, frozen=True),
        __validators__=validators,
        **fields,
    )


Coding = _lean(
    "Coding",
    FullCoding,
    {
        "system": PRIMITIVE,
        "code": PRIMITIVE,
        "version": PRIMITIVE,
        "display": PRIMITIVE,
        "userSelected": PRIMITIVE,
    },
)
CodeableConcept = _lean(
    "CodeableConcept",
    FullCodeableConcept,
    {"coding": list[Coding], "text": PRIMITIVE},  # type: ignore[valid-type]
)
Identifier = _lean(
    "Identifier", FullIdentifier, {"system": PRIMITIVE, "value": PRIMITIVE, "use": PRIMITIVE}
)
Reference = _lean(
    "Reference",
    FullReference,
    {"reference": PRIMITIVE, "type": PRIMITIVE, "identifier": Identifier, "display": PRIMITIVE},
)
Meta = _lean(
    "Meta",
    FullMeta,
    {"versionId": PRIMITIVE, "lastUpdated": PRIMITIVE, "source": PRIMITIVE, "profile": PRIMITIVE},
)
Period = _lean("Period", FullPeriod, {"start": PRIMITIVE, "end": PRIMITIVE})
ProtocolApplied = _lean(
    "ImmunizationProtocolApplied",
    FullProtocolApplied,
    {"doseNumberPositiveInt": PRIMITIVE, "doseNumberString": PRIMITIVE, "series": PRIMITIVE},
)

_COMMON = {"id": PRIMITIVE, "meta": Meta}
_C = list[CodeableConcept]  # type: ignore[valid-type]

Immunization = _lean(
    "Immunization",
    FullImmunization,
    {
        **_COMMON,
        "identifier": list[Identifier],  # type: ignore[valid-type]
        "status": PRIMITIVE,
        "vaccineCode": CodeableConcept,
        "patient": Reference,
        "occurrenceDateTime": PRIMITIVE,
        "occurrenceString": PRIMITIVE,
        "protocolApplied": list[ProtocolApplied],  # type: ignore[valid-type]
    },
    resource_type="Immunization",
)
Observation = _lean(
    "Observation",
    FullObservation,
    {
        **_COMMON,
        "identifier": list[Identifier],  # type: ignore[valid-type]
        "status": PRIMITIVE,
        "code": CodeableConcept,
        "subject": Reference,
        "effectiveDateTime": PRIMITIVE,
        "effectiveInstant": PRIMITIVE,
        "effectivePeriod": Period,
        "valueCodeableConcept": CodeableConcept,
        "interpretation": _C,
    },
    resource_type="Observation",
)
DiagnosticReport = _lean(
    "DiagnosticReport",
    FullDiagnosticReport,
    {
        **_COMMON,
        "identifier": list[Identifier],  # type: ignore[valid-type]
        "status": PRIMITIVE,
        "code": CodeableConcept,
        "subject": Reference,
        "effectiveDateTime": PRIMITIVE,
        "effectivePeriod": Period,
        "conclusionCode": _C,
        "result": list[Reference],  # type: ignore[valid-type]
    },
    resource_type="DiagnosticReport",
)
Condition = _lean(
    "Condition",
    FullCondition,
    {
        **_COMMON,
        "identifier": list[Identifier],  # type: ignore[valid-type]
        "clinicalStatus": CodeableConcept,
        "verificationStatus": CodeableConcept,
        "code": CodeableConcept,
        "subject": Reference,
        "onsetDateTime": PRIMITIVE,
        "onsetPeriod": Period,
        "recordedDate": PRIMITIVE,
    },
    resource_type="Condition",
)
Patient = _lean(
    "Patient",
    FullPatient,
    {**_COMMON, "identifier": list[Identifier]},  # type: ignore[valid-type]
    resource_type="Patient",
)

#: resourceType -> (lean model, full model).
MODELS: dict[str, tuple[type[BaseModel], Any]] = {
    "Immunization": (Immunization, FullImmunization),
    "Observation": (Observation, FullObservation),
    "DiagnosticReport": (DiagnosticReport, FullDiagnosticReport),
    "Condition": (Condition, FullCondition),
    "Patient": (Patient, FullPatient),
}
