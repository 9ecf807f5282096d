"""What of a feed's FHIR record is kept at rest: the clinical facts, never the person.

A record arrives naming its patient by NIK (and often by name, phone, address and birth date,
in the reference's ``display``, in ``contained`` Patient resources, in narrative ``text`` or
``note``). The person is already linked through the NIK's keyed hash and the person id, so
:func:`deidentify` keeps an allow-list of each resource type's clinical elements and replaces
the patient reference with FHIR's ``data-absent-reason: masked``. The result still validates as
the same FHIR resource, and de-identifying it again changes nothing.

Pure, no I/O. Every path that stores a feed record (``health_records.resource``) calls it, and
the migration ``0003_deidentify_records`` rewrote the rows stored before it.
"""

from __future__ import annotations

from typing import Any

from lindung_health.feeds.codes import NIK_SYSTEM

DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
MASKED_REFERENCE: dict[str, Any] = {
    "extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]
}

# Elements kept, per resource type: what screening, certificates and idempotency read, and
# the clinical context around it. Everything else (patient, performer, contained, text, note,
# extension, specimen, device, encounter, free-text values...) is dropped.
_COMMON = ("resourceType", "id", "meta", "identifier", "status")
_KEPT: dict[str, frozenset[str]] = {
    "Immunization": frozenset(
        (
            *_COMMON,
            "statusReason",
            "vaccineCode",
            "occurrenceDateTime",
            "recorded",
            "primarySource",
            "lotNumber",
            "expirationDate",
            "site",
            "route",
            "doseQuantity",
            "isSubpotent",
            "protocolApplied",
        )
    ),
    "Observation": frozenset(
        (
            *_COMMON,
            "category",
            "code",
            "effectiveDateTime",
            "effectiveInstant",
            "effectivePeriod",
            "issued",
            "valueCodeableConcept",
            "dataAbsentReason",
            "interpretation",
            "method",
        )
    ),
    "Condition": frozenset(
        (
            "resourceType",
            "id",
            "meta",
            "identifier",
            "clinicalStatus",
            "verificationStatus",
            "category",
            "severity",
            "code",
            "onsetDateTime",
            "onsetPeriod",
            "abatementDateTime",
            "recordedDate",
        )
    ),
}
#: The element naming the person, replaced by :data:`MASKED_REFERENCE`.
_SUBJECT = {"Immunization": "patient", "Observation": "subject", "Condition": "subject"}
_META_KEPT = frozenset(("versionId", "lastUpdated", "source", "profile"))
#: Inside kept elements: keys that can only carry something personal or unvetted (free text,
#: extensions, references to parties). ``CodeableConcept.text`` goes too: the codes say it.
_NEVER = frozenset(
    (
        "extension",
        "modifierExtension",
        "display",
        "assigner",
        "text",
        "note",
        "identifier",
        "reference",
    )
)
_CODING_KEPT = ("system", "version", "code", "display", "userSelected")


def deidentify(resource: dict[str, Any]) -> dict[str, Any]:
    """The copy of ``resource`` that may be stored: no patient, no NIK, no names, phones,
    addresses or birth dates, no free text; the clinical elements as they were."""
    resource_type = resource.get("resourceType")
    kept = _KEPT.get(str(resource_type), frozenset(("resourceType", "id", "meta")))
    out: dict[str, Any] = {}
    for key, value in resource.items():
        if key not in kept:
            continue
        cleaned: Any
        if key == "meta":
            cleaned = (
                {k: v for k, v in value.items() if k in _META_KEPT}
                if isinstance(value, dict)
                else None
            )
        elif key == "identifier":
            cleaned = _identifiers(value, _niks(resource))
        else:
            cleaned = _clean(value)
        if cleaned not in (None, {}, []):
            out[key] = cleaned
    subject = _SUBJECT.get(str(resource_type))
    if subject is not None:
        out[subject] = MASKED_REFERENCE
    return out


def _identifiers(value: Any, niks: set[str]) -> list[dict[str, Any]]:
    # The record's own identifiers (its idempotency key), never a person's, nor one that
    # spells the patient's NIK out.
    if not isinstance(value, list):
        return []
    out = []
    for identifier in value:
        if not isinstance(identifier, dict) or identifier.get("system") == NIK_SYSTEM:
            continue
        kept = {k: identifier[k] for k in ("system", "value", "use") if k in identifier}
        system, ident = kept.get("system"), kept.get("value")
        if (
            isinstance(system, str)
            and isinstance(ident, str)
            and not any(nik in ident for nik in niks)
        ):
            out.append(kept)
    return out


def _niks(value: Any) -> set[str]:
    """Every NIK the record names (as an identifier of the NIK system), wherever it sits."""
    found: set[str] = set()
    # Iterative, one set: this walk runs for every record of a feed.
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        if isinstance(node, dict):
            if node.get("system") == NIK_SYSTEM:
                nik = node.get("value")
                if isinstance(nik, str) and len(nik.strip()) >= 8:
                    found.add(nik.strip())
            for item in node.values():
                if isinstance(item, dict | list):
                    push(item)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, dict | list):
                    push(item)
    return found


def _clean(value: Any) -> Any:
    if isinstance(value, list):
        return [c for c in (_clean(v) for v in value) if c not in (None, {}, [])]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _NEVER:
            continue
        if key == "coding" and isinstance(item, list):
            # A code and its printed name (Coding.display names the code, not a person).
            nested: Any = [
                {k: c[k] for k in _CODING_KEPT if k in c} for c in item if isinstance(c, dict)
            ]
        else:
            nested = _clean(item)
        if nested not in (None, {}, []):
            out[key] = nested
    return out
