"""The coded values the feeds accept. Anything else is rejected with the code it carried.

Vaccines (COVID-19), in ``Immunization.vaccineCode``: the code map kept as data in
``codemaps/vaccines.csv`` (system, code, display): CVX, SNOMED CT and ICD-11 (the WHO DDCC
codes such as XM0GQ8 "COVID-19 vaccine, RNA based"). A row added there is a code accepted.

Laboratory tests, in ``Observation.code`` (LOINC, ``http://loinc.org``):

- 94500-6 SARS-CoV-2 RNA by NAA with probe detection (respiratory): PCR
- 94309-2 SARS-CoV-2 RNA by NAA with probe detection (specimen): PCR
- 94558-4 SARS-CoV-2 Ag by rapid immunoassay (respiratory): antigen
- 97097-0 SARS-CoV-2 Ag by rapid immunoassay (upper respiratory): antigen

Suspected and confirmed cases, as a ``Condition`` (docs/suspects.md): ``Condition.code`` in
SNOMED CT (840539006 COVID-19, 840544004 suspected COVID-19), ICD-10 (U07.1 virus identified,
U07.2 virus not identified) or ICD-11 (RA01.0, RA01.1); ``Condition.verificationStatus`` in
``http://terminology.hl7.org/CodeSystem/condition-ver-status``: unconfirmed, provisional or
differential (a suspected case), confirmed, refuted, entered-in-error.

Results: ``valueCodeableConcept`` in SNOMED CT (10828004 positive, 260373001 detected;
260385009 negative, 260415000 not detected) or, failing that, ``interpretation`` in
``http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation`` (POS, DET / NEG, ND).
"""

from __future__ import annotations

import csv
from importlib import resources
from typing import Literal

CVX = "http://hl7.org/fhir/sid/cvx"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"

ICD11 = "http://id.who.int/icd11/mms"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

#: COVID-19 as a Condition (a suspected or confirmed case), by system.
CONDITION_CODES: dict[str, frozenset[str]] = {
    SNOMED: frozenset({"840539006", "840544004"}),
    ICD10: frozenset({"U07.1", "U07.2"}),
    ICD11: frozenset({"RA01.0", "RA01.1"}),
}
#: ``Condition.verificationStatus`` codes that make a suspected case (PDP).
SUSPECTED = frozenset({"unconfirmed", "provisional", "differential"})
VERIFICATION_CODES = SUSPECTED | {"confirmed", "refuted", "entered-in-error"}


def load_vaccine_codes() -> dict[str, dict[str, str]]:
    """The vaccine code map: system -> code -> display."""
    found: dict[str, dict[str, str]] = {}
    source = resources.files("lindung_health") / "feeds" / "codemaps" / "vaccines.csv"
    for row in csv.DictReader(source.read_text(encoding="utf-8").splitlines()):
        found.setdefault(row["system"].strip(), {})[row["code"].strip()] = row["display"]
    return found


VACCINE_CODES: dict[str, dict[str, str]] = load_vaccine_codes()

TEST_CODES: dict[str, Literal["pcr", "antigen"]] = {
    "94500-6": "pcr",
    "94309-2": "pcr",
    "94558-4": "antigen",
    "97097-0": "antigen",
}

RESULT_CODES: dict[tuple[str, str], Literal["positive", "negative"]] = {
    (SNOMED, "10828004"): "positive",
    (SNOMED, "260373001"): "positive",
    (SNOMED, "260385009"): "negative",
    (SNOMED, "260415000"): "negative",
    (INTERPRETATION, "POS"): "positive",
    (INTERPRETATION, "DET"): "positive",
    (INTERPRETATION, "NEG"): "negative",
    (INTERPRETATION, "ND"): "negative",
}
